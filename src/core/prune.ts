// Apply a retention policy: decide (pure, ./retention.ts), then, under each database's lock, log the plan
// and remove each doomed backup whole (its server copy dropped), then log what went.
import prettyBytes from 'pretty-bytes';
import { describeCause, SafeRunError } from '../errors.js';
import type { Engine } from '../engines/engine.js';
import type { PrunedBackup, RunRecord } from '../oplog/run-record.js';
import type { Backup } from '../store/manifest.js';
import { PinFile } from '../store/pins.js';
import { engineForBackup, type Context } from './context.js';
import { lockDatabases } from './db-locks.js';
import { decideRetention, hasRule, type RetentionDecision, type RetentionPolicy } from './retention.js';
import { startRecord } from './run-identity.js';

export interface PruneRequest {
  policy: RetentionPolicy;
  /** Only the backups of these databases (names); all when empty. */
  databases: string[];
  dryRun: boolean;
  /** safe-run's own argv, for the log. */
  argv: string[];
  /** Kept with the prune's log record (automatic retention names the run it followed). */
  reason?: string;
  waitMs: number;
  /** The caller already holds the databases' locks (automatic retention at the end of a guarded run). */
  locksHeld?: boolean;
  now?: Date;
}

export interface PruneResult {
  decisions: RetentionDecision[];
  removed: Backup[];
  /** The prune's log record (none for a dry run or when nothing was to go). */
  record?: RunRecord;
  /** Bytes of removed page backups that kept backups still use: moved into them, so not freed. */
  movedBytes: number;
}

export async function prune(ctx: Context, req: PruneRequest): Promise<PruneResult> {
  if (!hasRule(req.policy)) {
    throw new SafeRunError('usage', 'no retention rule given: prune would not know what to keep', {
      hint: 'e.g. safe-run prune --keep-last 10, or set "retention" in the config',
    });
  }
  const plan = await decide(ctx, req);
  const doomed = plan.decisions.filter((d) => !d.keep).map((d) => d.backup);
  if (req.dryRun || doomed.length === 0) return { decisions: plan.decisions, removed: [], movedBytes: 0 };

  const engines = await enginesOf(ctx, doomed);
  const locks = req.locksHeld ? undefined : await lockDatabases(engines, ctx.store.root, { purpose: `prune: ${req.argv.join(' ').slice(0, 60)}`, waitMs: req.waitMs });
  try {
    await ctx.store.prepare().catch(() => undefined); // what an earlier prune, killed, left out of the listing
    // Decide again under the locks: a backup taken or a restore made while we waited changes what is newest.
    const locked = await decide(ctx, { ...req, databases: [...new Set(doomed.map((b) => b.database))] });
    const going = locked.decisions.filter((d) => !d.keep).map((d) => d.backup);
    if (going.length === 0) return { decisions: plan.decisions, removed: [], movedBytes: 0 };
    const record: RunRecord = { ...startRecord(ctx, { kind: 'prune', argv: req.argv, reason: req.reason, databases: [...new Set(going.map((b) => b.database))] }) };
    const pruned: PrunedBackup[] = going.map((b) => ({ backupId: b.id, database: b.database, ...(b.runId ? { runId: b.runId } : {}), createdAt: b.createdAt, size: b.size }));
    record.pruned = pruned;
    // The plan is in the log before anything is removed: a log that cannot be written stops the prune here.
    await ctx.log.append(record).catch((err) => {
      throw new SafeRunError('log', `cannot write the operation log ${ctx.log.file}: ${describeCause(err)}; nothing was removed`, {
        hint: 'free space where the log is, or set "logFile" in the config',
        cause: err,
      });
    });
    const removed: Backup[] = [];
    let movedBytes = 0;
    const pins = new PinFile(ctx.store.root);
    let failure: unknown;
    for (const [i, b] of going.entries()) {
      try {
        if ((await pins.read())[b.id]) continue; // pinned since we decided
        const engine = engines.find((e) => e.name === b.database);
        movedBytes += (await ctx.store.remove(b, b.serverCopy ? () => dropServerCopy(engine, b) : undefined)).movedBytes;
        pruned[i]!.at = new Date().toISOString();
        removed.push(b);
      } catch (err) {
        failure = err;
        break;
      }
    }
    const ended = new Date();
    const done: Partial<RunRecord> = {
      status: failure ? 'failed' : 'succeeded',
      exitCode: failure ? 6 : 0,
      signal: null,
      endedAt: ended.toISOString(),
      durationMs: ended.getTime() - Date.parse(record.startedAt),
      pruned: pruned.filter((p) => p.at),
      ...(failure ? { error: `stopped at backup ${going[removed.length]?.id}: ${describeCause(failure)}` } : {}),
    };
    await ctx.log.patch(record.id, done).catch(() => undefined); // the record already names the plan
    Object.assign(record, done);
    if (failure) {
      throw new SafeRunError('log', `cannot remove backup ${going[removed.length]?.id}: ${describeCause(failure)}; ${removed.length} of ${going.length} removed, the rest kept whole`, {
        hint: 'check the permissions of the store; see what is left with: safe-run list',
        cause: failure,
      });
    }
    return { decisions: plan.decisions, removed, record, movedBytes };
  } finally {
    await locks?.release();
  }
}

async function decide(ctx: Context, req: PruneRequest) {
  const inScope = (db: string) => req.databases.length === 0 || req.databases.includes(db);
  const unreadable = (await ctx.store.unreadable()).filter((dir) => inScope(dir.split('/').at(-2) ?? ''));
  if (unreadable.length > 0) {
    throw new SafeRunError('log', `the manifest of ${unreadable[0]} does not read${unreadable.length > 1 ? ` (and ${unreadable.length - 1} more)` : ''}; nothing was removed`, {
      hint: 'retention does not decide around a backup it cannot read: repair its manifest.json, or move the directory out of the store',
    });
  }
  const backups = (await ctx.store.list()).filter((b) => inScope(b.database));
  const pinned = new Set(Object.keys(await new PinFile(ctx.store.root).read()));
  // Retention looks at the runs that refer to backups in the store: a run starts before the backups it
  // takes, by its lock wait at most, so older segments (a day of margin) cannot hold one, and an
  // automatic prune after every run does not read the whole history.
  const oldest = backups.reduce((min, b) => Math.min(min, Date.parse(b.createdAt)), Infinity);
  const since = backups.length === 0 ? '9999' : Number.isNaN(oldest) ? '' : new Date(oldest - 86_400_000).toISOString();
  const result = decideRetention({ backups, runs: await ctx.log.runsSince(since), pinned, policy: req.policy, now: req.now ?? new Date() });
  if (result.overSize) {
    throw new SafeRunError('usage', `max-size ${prettyBytes(result.overSize.maxSize)} cannot be met: the protected backups alone take ${prettyBytes(result.overSize.keptBytes)}; nothing was removed`, {
      hint: 'raise --max-size, unpin backups (safe-run unpin <id>), or see what is kept and why: safe-run prune --dry-run',
    });
  }
  return result;
}

/** One engine per database with backups to remove, reopened from a backup as restore does. */
async function enginesOf(ctx: Context, doomed: Backup[]): Promise<Engine[]> {
  const engines: Engine[] = [];
  for (const b of doomed) {
    if (engines.some((e) => e.name === b.database)) continue;
    engines.push(await engineForBackup(b.engine, b.database, b.source, { configured: ctx.config.databases }));
  }
  return engines;
}

/**
 * Called by store.remove once the backup has left the listing and before its files go. Why this order:
 * dropping first, a crash would leave a listed backup whose server copy is gone (listed but not whole);
 * dropping after the files, a crash would leave an orphan copy with no manifest naming it. In between,
 * a crash leaves the copy named after a backup that is no longer listed, which the engine's
 * removeLeftovers already recognises and drops.
 */
async function dropServerCopy(engine: Engine | undefined, b: Backup): Promise<void> {
  if (!b.serverCopy) return;
  if (!engine?.dropServerCopy) {
    throw new SafeRunError('log', `${b.engine} cannot drop the server copy ${b.serverCopy.name} of backup ${b.id}`, {
      hint: 'use the safe-run version that took the backup',
    });
  }
  await engine.dropServerCopy(b.serverCopy);
}
