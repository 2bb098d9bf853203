// The guard: lock → log the run → back up every database (verified) → run → complete the log → rollback command.
import type { Socket } from 'node:net';
import type { DatabaseConfig } from '../config.js';
import { describeCause, SafeRunError } from '../errors.js';
import type { RunKind, RunRecord } from '../oplog/run-record.js';
import type { Backup, BackupKind } from '../store/manifest.js';
import { toRef } from './backup-ref.js';
import { backupsSwitchedOff } from './backups-switch.js';
import { openEngines, type Context } from './context.js';
import { lockDatabases } from './db-locks.js';
import type { EventSink } from './events.js';
import { prune } from './prune.js';
import { restoreBackups } from './restore.js';
import { hasRule } from './retention.js';
import { rollbackCommand } from './rollback-command.js';
import { startRecord } from './run-identity.js';
import { missingDatabaseError, takeVerifiedBackups } from './take-backup.js';

export interface GuardRequest {
  databases: DatabaseConfig[];
  /** The command (or a description of the function) for the log. */
  argv: string[];
  kind: RunKind;
  /** The kind of the backups a `backup` run takes (default manual); scheduled ones are subject to retention. */
  backupKind?: BackupKind;
  reason?: string;
  /** How long to wait for another safe-run's lock, in ms (0: fail at once). */
  waitMs: number;
  /** Restore the pre-run backups when the body fails. */
  rollbackOnFailure: boolean;
  /**
   * When the body failed and rollbackOnFailure is off: asked (with the locks still held) whether to
   * restore the pre-run backups now. Resolving true restores them, as rollbackOnFailure would.
   */
  askRollback?: (record: RunRecord, backups: Backup[], outcome: BodyOutcome) => Promise<boolean>;
  /**
   * The body runs a command that may outlive safe-run: hold the locks in a keeper process that keeps
   * them until the command has ended too, should safe-run be killed (see lock/lock-keeper.ts). The
   * body gets the descriptor to pass to the command.
   */
  bodyMayOutlive?: boolean;
  onEvent?: EventSink;
}

/** What the body gets besides the record. */
export interface BodyContext {
  /** With bodyMayOutlive: give this to the command as an extra descriptor (its fd 3). */
  lifeline?: Socket;
}

/** What the guarded body reports back. */
export interface BodyOutcome {
  ok: boolean;
  exitCode: number | null;
  signal: string | null;
  /** What went wrong, in one line, when the body reports a failure of its own (a thrown error). */
  error?: string;
}

export interface GuardResult {
  record: RunRecord;
  backups: Backup[];
  /** The record of the automatic rollback, when --rollback-on-failure restored the backups. */
  rollback?: RunRecord;
  /** Set when the automatic rollback was attempted and failed. */
  rollbackError?: unknown;
}

/**
 * Guard `body` with verified backups of every database. If a backup cannot be made or verified, the
 * failed attempt is logged and a SafeRunError('backup') is thrown: the body never runs. The run is in the
 * log before the body starts (so a killed safe-run still shows, as interrupted) and completed after.
 */
export async function guard(
  ctx: Context,
  req: GuardRequest,
  body: (record: RunRecord, context: BodyContext) => Promise<BodyOutcome>,
): Promise<GuardResult> {
  const emit = req.onEvent ?? (() => undefined);
  // A manual backup is a guarded run whose body does nothing: the same locks, backups and log entry.
  const manual = req.kind === 'backup';
  const backupKind: BackupKind = manual ? (req.backupKind ?? 'manual') : 'pre-run';
  if (req.databases.length === 0) {
    throw new SafeRunError('config', 'no database to back up', {
      stage: 'config',
      hint: `add "databases" to ${ctx.config.file ?? 'safe-run.config.json'}, or name one with --db PATH`,
    });
  }
  // Switched off (SAFE_RUN_DISABLE=1, "enabled": false): a guarded command still runs, under its locks
  // and in the log, without a backup; the record and an event say so. A `backup` run is refused by its
  // command before it gets here.
  const off = manual ? undefined : backupsSwitchedOff(ctx.config);
  const engines = await openEngines(req.databases);
  // A log that cannot be read stops the run before anything is written anywhere.
  await ctx.log.read();
  const record = startRecord(ctx, { kind: req.kind, argv: req.argv, reason: req.reason, databases: engines.map((e) => e.name) });
  const runId = record.id;
  const started = Date.parse(record.startedAt);
  const backups: Backup[] = [];
  /** Log the attempt as aborted (the command never ran), then rethrow what stopped it. */
  const abort = async (err: unknown): Promise<never> => {
    const ended = Date.now();
    await ctx.log
      .patch(runId, {
        ...record,
        status: 'aborted',
        backups: backups.map(toRef),
        endedAt: new Date(ended).toISOString(),
        durationMs: ended - started,
        exitCode: null,
        signal: null,
        error: err instanceof Error ? err.message : String(err),
      })
      .catch(() => undefined); // the error that stopped the run is the one to report
    throw err;
  };
  try {
    for (const engine of engines) if (!(await engine.exists())) throw missingDatabaseError(engine);
    if (!off) await ctx.store.prepare().catch((err) => {
      throw new SafeRunError('backup', `cannot use the backup directory ${ctx.store.root}: ${describeCause(err)}`, {
        stage: 'backup',
        hint: 'make it writable, or set "backupDir" in the config',
        cause: err,
      });
    });
  } catch (err) {
    return abort(err);
  }
  const locks = await lockDatabases(engines, ctx.store.root, {
    purpose: `${req.kind} ${runId}: ${record.argv.join(' ').slice(0, 80)}`,
    waitMs: req.waitMs,
    onWait: (database, holder, waitMs) => emit({ type: 'lock-wait', database, holder, waitMs }),
    outliveUntilCommandEnds: req.bodyMayOutlive,
  }).catch(abort);
  try {
    // In the log before any backup: this proves the log can be written (a read-only or full log
    // directory stops the run here, before a backup nobody's log entry would point to), and a run
    // killed from here on shows as interrupted. Not fsynced: the patch below, durable, writes this
    // record again with its backups and rollback command before the command starts; until then the
    // record stands for nothing a power cut could make anyone need (a kill -9 loses nothing: the
    // write is in the file). Two fsyncs fewer per run (a log write took 4 ms at best, 18 ms median,
    // on this shared disk).
    if (off) record.backupSkipped = { reason: off.reason };
    await ctx.log.append(record, { durable: false });
    if (off) {
      emit({ type: 'backup-skipped', databases: engines.map((e) => e.name), reason: off.reason });
    } else {
      try {
        await takeVerifiedBackups(engines, ctx.store, { kind: backupKind, reason: req.reason, runId, check: ctx.config.check, compress: ctx.config.compress, waitMs: req.waitMs }, emit, backups);
      } catch (err) {
        await abort(err);
      }
    }
    record.backups = backups.map(toRef);
    if (!manual && !off) record.rollbackCommand = rollbackCommand(ctx, runId);
    try {
      await ctx.log.patch(runId, { backups: record.backups, rollbackCommand: record.rollbackCommand });
    } catch (err) {
      const reported = await dropUnloggedBackups(ctx, backups.splice(0), err);
      await abort(reported); // its record is still "running": mark it aborted, if the log takes it now
    }

    const bodyStarted = Date.now();
    if (!manual) emit({ type: 'command-start', argv: record.argv });
    let outcome: BodyOutcome;
    try {
      outcome = await body(record, { lifeline: locks.lifeline });
    } catch (err) {
      await completeRecord(ctx, record, started, { ok: false, exitCode: null, signal: null }, err);
      throw err;
    }
    if (!manual) emit({ type: 'command-end', exitCode: outcome.exitCode, signal: outcome.signal, ms: Date.now() - bodyStarted });
    const result: GuardResult = { record: await completeRecord(ctx, record, started, outcome), backups };

    const rollBack = !outcome.ok && backups.length > 0 && (req.rollbackOnFailure || (await req.askRollback?.(record, backups, outcome)) === true);
    if (rollBack) {
      try {
        result.rollback = await restoreBackups(ctx, {
          backups,
          kind: 'rollback',
          argv: ['rollback', runId],
          reason: req.rollbackOnFailure ? `automatic rollback of ${runId}` : `rollback of ${runId} after it failed`,
          waitMs: req.waitMs,
          locksHeld: true,
          onEvent: emit,
        });
        record.autoRollback = { ok: true, restoreRunId: result.rollback.id };
      } catch (err) {
        result.rollbackError = err;
        record.autoRollback = { ok: false, error: err instanceof Error ? err.message : String(err) };
      }
      await ctx.log.patch(runId, { autoRollback: record.autoRollback });
    }
    if (!off) await autoPrune(ctx, engines.map((e) => e.name), runId, emit);
    return result;
  } finally {
    await locks.release();
  }
}

/**
 * The config's retention, when it says `auto`, applied to this run's databases while their locks are
 * still held (no other run can slip a backup in between). A failure is a warning: the run itself went
 * as reported, and the backups it took are the newest, protected from any policy.
 */
async function autoPrune(ctx: Context, databases: string[], runId: string, emit: EventSink): Promise<void> {
  const retention = ctx.config.retention;
  if (!retention?.auto || !hasRule(retention)) return;
  try {
    const { removed } = await prune(ctx, { policy: retention, databases, dryRun: false, argv: ['prune'], reason: `automatic retention after ${runId}`, waitMs: 0, locksHeld: true });
    if (removed.length > 0) emit({ type: 'auto-prune', removed });
  } catch (err) {
    emit({ type: 'auto-prune', removed: [], error: err instanceof Error ? err.message : String(err) });
  }
}

async function completeRecord(ctx: Context, record: RunRecord, started: number, outcome: BodyOutcome, error?: unknown): Promise<RunRecord> {
  const ended = Date.now();
  Object.assign(record, {
    status: outcome.ok ? 'succeeded' : 'failed',
    endedAt: new Date(ended).toISOString(),
    durationMs: ended - started,
    exitCode: outcome.exitCode,
    signal: outcome.signal,
    ...(error ? { error: error instanceof Error ? error.message : String(error) } : outcome.error ? { error: outcome.error } : {}),
  } satisfies Partial<RunRecord>);
  await ctx.log.patch(record.id, record);
  return record;
}

/**
 * The log could not record the backups just taken (its disk filled up, its directory became read-only):
 * a backup no log entry points to would only pile up, so remove them, and say so in the one line.
 */
async function dropUnloggedBackups(ctx: Context, backups: Backup[], err: unknown): Promise<SafeRunError> {
  const kept: string[] = [];
  for (const b of backups) await ctx.store.remove(b).catch(() => kept.push(b.id));
  const what = backups.length === 1 ? 'the backup taken for this run was' : 'the backups taken for this run were';
  const message = `${err instanceof Error ? err.message : String(err)}; ${what} removed${kept.length ? ` (except ${kept.join(', ')})` : ''}`;
  return err instanceof SafeRunError
    ? new SafeRunError(err.kind, message, { stage: err.stage, hint: err.hint, cause: err })
    : new SafeRunError('log', message, { stage: 'log', cause: err });
}
