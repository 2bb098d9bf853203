// doctor: check each database where it is; repair a damaged one by moving it aside into the store and
// restoring its newest backup that still verifies. The repair is logged as a restore with its reason.
import path from 'node:path';
import type { DatabaseConfig } from '../config.js';
import type { Engine, LiveCheck } from '../engines/engine.js';
import { describeCause, SafeRunError } from '../errors.js';
import type { RunRecord } from '../oplog/run-record.js';
import type { Backup } from '../store/manifest.js';
import { CORRUPTED_PREFIX } from '../store/store-inventory.js';
import { checkAgainstLog } from './backup-identity.js';
import { openEngine, type Context } from './context.js';
import { lockDatabases } from './db-locks.js';
import type { EventSink } from './events.js';
import { recheckBackup } from './recheck-backup.js';
import { restoreBackups } from './restore.js';

export interface DoctorFinding {
  database: string;
  engine: string;
  location: string;
  /** unchecked: the engine cannot check a live database yet, or the check itself could not run. */
  state: LiveCheck['state'] | 'unchecked';
  problems: string[];
}

export interface Examined {
  finding: DoctorFinding;
  engine: Engine;
}

export async function examineDatabases(databases: DatabaseConfig[]): Promise<Examined[]> {
  const out: Examined[] = [];
  for (const db of databases) {
    const engine = await openEngine(db);
    const base = { database: engine.name, engine: engine.kind, location: engine.location };
    if (!engine.checkLive) {
      out.push({ engine, finding: { ...base, state: 'unchecked', problems: [`doctor does not check ${engine.kind} databases yet`] } });
      continue;
    }
    const found = await engine.checkLive().catch((err: unknown) => ({ state: 'unchecked' as const, problems: [`could not check it: ${describeCause(err)}`] }));
    out.push({ engine, finding: { ...base, ...found } });
  }
  return out;
}

export interface RepairPlan {
  /** The newest backup of this database that verifies now; undefined when none does. */
  backup?: Backup;
  /** Newer backups passed over, and why. */
  skipped: Array<{ id: string; why: string }>;
  /** Runs on this database logged after that backup was taken: what restoring it loses. */
  lostRuns: RunRecord[];
}

/** Choose what to restore, re-checking backups newest first as a restore would. Changes nothing. */
export async function planRepair(ctx: Context, engine: Engine): Promise<RepairPlan> {
  const runs = await ctx.log.runs();
  const candidates = (await ctx.store.list()).filter((b) => b.source === engine.location && b.engine === engine.kind).reverse();
  const skipped: RepairPlan['skipped'] = [];
  for (const b of candidates) {
    try {
      checkAgainstLog(b, runs);
    } catch (err) {
      skipped.push({ id: b.id, why: (err as Error).message });
      continue;
    }
    const check = await recheckBackup(b, ctx.config.check, true, ctx.config.databases);
    if (!check.verified) {
      skipped.push({ id: b.id, why: check.verifyError ?? 'does not verify' });
      continue;
    }
    // A run that was still going when the backup was taken changed the database after it (the backup
    // may be its own pre-run one); manual backups and runs that never started changed nothing.
    const lostRuns = runs.filter(
      (r) => r.databases.includes(engine.name) && (r.endedAt ?? r.startedAt) > b.createdAt && r.kind !== 'backup' && r.status !== 'aborted',
    );
    return { backup: b, skipped, lostRuns };
  }
  return { skipped, lostRuns: [] };
}

export interface RepairResult {
  /** Where the damaged files now are, in the store. */
  dir: string;
  moved: string[];
  record: RunRecord;
}

/**
 * Under the database's lock for the whole repair: check again (it may have been dealt with meanwhile),
 * move the damaged files aside, restore `backup`. If the restore fails, the damaged files go back
 * where they were, so that nothing is left half-done.
 */
export async function repairDatabase(
  ctx: Context,
  engine: Engine,
  backup: Backup,
  opts: { waitMs: number; argv: string[]; onEvent?: EventSink },
): Promise<RepairResult> {
  if (!engine.checkLive || !engine.setAside) {
    throw new SafeRunError('usage', `doctor cannot repair ${engine.kind} databases yet`, { database: engine.name, hint: `restore one yourself: safe-run restore ${backup.id}` });
  }
  const locks = await lockDatabases([engine], ctx.store.root, {
    purpose: `doctor repair of ${engine.name}`,
    waitMs: opts.waitMs,
    onWait: (database, holder, waitMs) => opts.onEvent?.({ type: 'lock-wait', database, holder, waitMs }),
  });
  try {
    const now = await engine.checkLive();
    if (now.state !== 'damaged') {
      throw new SafeRunError('usage', `${engine.name} is ${now.state === 'ok' ? 'no longer damaged' : now.state} now; nothing was changed`, {
        database: engine.name,
        hint: 'run safe-run doctor again to see its state',
      });
    }
    const dir = path.join(ctx.store.databaseDir(engine.name), `${CORRUPTED_PREFIX}${new Date().toISOString().replace(/[:.]/g, '-')}`);
    const aside = await engine.setAside(dir).catch((err: unknown) => {
      throw new SafeRunError('restore', `cannot move the damaged ${engine.name} aside into ${dir}: ${describeCause(err)}`, {
        stage: 'set-aside',
        database: engine.name,
        hint: (err as { hint?: string }).hint ?? 'nothing was changed; free space or fix permissions in the backup directory',
        cause: err,
      });
    });
    try {
      const record = await restoreBackups(ctx, {
        backups: [backup],
        kind: 'restore',
        argv: opts.argv,
        reason: `doctor: ${engine.name} was damaged (${now.problems[0] ?? 'check failed'}); its damaged files are kept in ${dir}`,
        waitMs: opts.waitMs,
        locksHeld: true,
        onEvent: opts.onEvent,
      });
      return { dir, moved: aside.moved, record };
    } catch (err) {
      await aside.putBack().catch(() => undefined); // else they stay in the store: still nothing lost
      throw err;
    }
  } finally {
    await locks.release();
  }
}
