// Restore: verify the backup and keep the database as it is now → swap → check; put it back on any failure.
import { promises as fs } from 'node:fs';
import type { Engine, StagedRestore } from '../engines/engine.js';
import { describeCause, SafeRunError } from '../errors.js';
import type { RunRecord } from '../oplog/run-record.js';
import type { PendingBackup } from '../store/backup-store.js';
import { storedSnapshot, type Backup } from '../store/manifest.js';
import { VERSION } from '../version.js';
import { holdSignals } from '../engines/hold-signals.js';
import { toRef } from './backup-ref.js';
import { engineForBackup, type Context } from './context.js';
import { lockDatabases } from './db-locks.js';
import type { EventSink } from './events.js';
import { checkAgainstLog } from './backup-identity.js';
import { stageRefused, swapFailed, targetRefused } from './restore-errors.js';
import { rollbackCommand } from './rollback-command.js';
import { startRecord } from './run-identity.js';

export interface RestoreRequest {
  /** At most one backup per database. */
  backups: Backup[];
  /** Restore the (single) backup onto this SQLite path instead of the database it came from. */
  into?: string;
  kind: 'restore' | 'rollback';
  /** safe-run's own command line, for the log. */
  argv: string[];
  reason?: string;
  waitMs: number;
  /**
   * Go ahead although other clients are connected (a server engine then shuts them out for the swap);
   * without it such a restore is refused, naming them.
   */
  force?: boolean;
  /** The caller already holds the databases' locks (a guarded run rolling back on failure). */
  locksHeld?: boolean;
  onEvent?: EventSink;
}

interface Target {
  backup: Backup;
  engine: Engine;
  staged?: StagedRestore;
  /** Where the database as it is now is kept, until it is listed as `safety`. */
  pending?: PendingBackup;
  safety?: Backup;
  swapped?: boolean;
}

/** Restore backups and log it as one operation whose own rollback command undoes it. */
export async function restoreBackups(ctx: Context, req: RestoreRequest): Promise<RunRecord> {
  const emit = req.onEvent ?? (() => undefined);
  if (req.into && req.backups.length !== 1) {
    throw new SafeRunError('usage', '--into takes a single backup', { hint: 'restore one backup at a time with --into' });
  }
  const targets: Target[] = [];
  const runs = await ctx.log.runs();
  for (const backup of req.backups) {
    checkAgainstLog(backup, runs);
    await fs.access(backup.path).catch(() => {
      throw new SafeRunError('restore', `backup ${backup.id} of ${backup.database} has no file any more (${backup.path})`, {
        stage: 'restore',
        database: backup.database,
        backupId: backup.id,
        hint: 'nothing was changed; pick another backup with: safe-run list',
      });
    });
    const engine = await engineForBackup(backup.engine, backup.database, backup.source, { into: req.into, configured: ctx.config.databases });
    await engine.prepareRestore().catch((err) => {
      throw targetRefused(backup, engine.location, err);
    });
    targets.push({ backup, engine });
  }
  const locks = req.locksHeld
    ? undefined
    : await lockDatabases(
        targets.map((t) => t.engine),
        ctx.store.root,
        {
          purpose: `${req.kind} of ${targets.map((t) => t.backup.id).join(', ')}`,
          waitMs: req.waitMs,
          onWait: (database, holder, waitMs) => emit({ type: 'lock-wait', database, holder, waitMs }),
        },
      );
  const record: RunRecord = {
    ...startRecord(ctx, { kind: req.kind, argv: req.argv, reason: req.reason, databases: targets.map((t) => t.backup.database) }),
    restored: targets.map((t) => ({ backupId: t.backup.id, database: t.backup.database })),
  };
  const started = Date.parse(record.startedAt);
  let releaseSignals: (() => void) | undefined;

  try {
    await ctx.log.append(record);
    // 1. Stage and verify every copy, and keep each database as it is now, both checked side by side.
    //    A bad backup is refused here, with nothing changed.
    for (const t of targets) {
      const t0 = Date.now();
      emit({ type: 'restore-start', database: t.backup.database, backupId: t.backup.id, target: t.engine.location, size: t.backup.size });
      t.pending = await ctx.store.reserve(t.engine.name).catch((err) => {
        throw new SafeRunError('restore', `cannot keep a safety backup of ${t.backup.database} in ${ctx.store.root}: ${describeCause(err)}`, {
          stage: 'safety',
          database: t.backup.database,
          hint: 'nothing was changed; make the backup directory writable, or free space there',
          cause: err,
        });
      });
      t.staged = await t.engine.stageRestore(storedSnapshot(t.backup), ctx.config.check, t.pending.target, { waitMs: req.waitMs }).catch((err) => {
        throw stageRefused(t.backup, ctx.store.root, err);
      });
      emit({ type: 'restore-verified', database: t.backup.database, ms: Date.now() - t0 });
      const old = t.staged.old;
      if (!old) {
        await t.pending.abort(); // no database there now: nothing to keep
        t.pending = undefined;
        continue;
      }
      const fields = {
        database: t.engine.name,
        engine: t.engine.kind,
        source: t.engine.location,
        kind: 'pre-restore' as const,
        reason: `before restoring ${t.backup.id}`,
        runId: record.id,
        createdAt: new Date(t0).toISOString(),
        durationMs: Date.now() - t0,
        files: old.output.files.map((name, i) => ({ name, ...old.hashes[i]! })),
        ...(old.output.serverCopy ? { serverCopy: old.output.serverCopy } : {}),
        facts: old.facts,
        safeRunVersion: VERSION,
      };
      // A copy is a backup at once. A hard link is still the live file: it is sealed now and listed
      // only once the swap has put the new file in its place (a crash before that discards it).
      if (old.how === 'copy') t.safety = await t.pending.publish(fields);
      // 'link' and 'rename': the kept files (or server copy) only become a backup once the swap is done.
      else await t.pending.seal(fields);
      if (t.safety) emit({ type: 'safety-kept', database: t.engine.name, backup: t.safety, how: old.how, verified: old.verified });
    }
    // 2. Swap each in; if one fails, the ones already swapped go back to their safety backups. Signals
    //    wait until every swap is done and its safety backup listed (a hard-linked one is only listed
    //    after its swap): Ctrl-C must not leave some databases restored and their old state unlisted.
    releaseSignals = holdSignals();
    for (const t of targets) {
      const t0 = Date.now();
      const { method, heldBy, replacedLink } = await t.staged!.swap({ waitMs: req.waitMs, force: req.force }).catch((err) => {
        throw swapFailed(t.backup, err);
      });
      t.swapped = true;
      if (t.pending && !t.safety) {
        t.safety = await t.pending.commit();
        emit({ type: 'safety-kept', database: t.engine.name, backup: t.safety, how: t.staged!.old!.how, verified: t.staged!.old!.verified });
      }
      const entry = record.restored!.find((r) => r.backupId === t.backup.id);
      if (entry) entry.method = method;
      emit({ type: 'restore-done', database: t.backup.database, method, ms: Date.now() - t0, heldBy, target: t.engine.location, replacedLink });
    }
  } catch (err) {
    await putBack(ctx, targets);
    for (const t of targets) {
      await t.staged?.discard();
      // A sealed hard link that never became a backup: unless its swap happened, it is the live file
      // still (or was renamed back), so it goes. After a swap it is the only old copy: it stays, and
      // the store's clean-up lists it once this process is gone.
      if (!t.safety && !t.swapped) await t.pending?.abort();
    }
    await ctx.log
      .patch(record.id, finished(record, started, 'failed', { error: err instanceof Error ? err.message : String(err), backups: safetyRefs(targets) }))
      .catch(() => undefined);
    await locks?.release();
    releaseSignals?.();
    throw err;
  }
  const done = finished(record, started, 'succeeded', {
    backups: safetyRefs(targets),
    rollbackCommand: targets.some((t) => t.safety) ? rollbackCommand(ctx, record.id) : undefined,
  });
  try {
    await ctx.log.patch(record.id, done);
  } finally {
    await locks?.release();
    releaseSignals?.();
  }
  return { ...record, ...done };
}

function safetyRefs(targets: Target[]) {
  return targets.flatMap((t) => (t.safety ? [toRef(t.safety)] : []));
}

function finished(record: RunRecord, started: number, status: RunRecord['status'], extra: Partial<RunRecord>): Partial<RunRecord> {
  const ended = Date.now();
  return { status, endedAt: new Date(ended).toISOString(), durationMs: ended - started, exitCode: status === 'succeeded' ? 0 : 1, restored: record.restored, ...extra };
}

/** Databases already swapped go back to their safety backups (best effort; each swap is atomic). */
async function putBack(ctx: Context, targets: Target[]): Promise<void> {
  for (const t of targets) {
    if (!t.swapped || !t.safety) continue;
    try {
      const staged = await t.engine.stageRestore(storedSnapshot(t.safety), ctx.config.check);
      await staged.swap();
    } catch {
      // The safety backup stays in the store; the error the caller sees names the database.
    }
  }
}
