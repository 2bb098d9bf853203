// Restore: verify → safety backup → swap → check, and put everything back if any step fails.
import { promises as fs } from 'node:fs';
import type { Engine, StagedRestore } from '../engines/engine.js';
import { ChecksumMismatchError } from '../engines/sqlite.js';
import { CheckFailedError, summariseCheck } from '../engines/sqlite-facts.js';
import { describeCause, SafeRunError } from '../errors.js';
import type { RunRecord } from '../oplog/run-record.js';
import type { Backup } from '../store/manifest.js';
import { toRef } from './backup-ref.js';
import { engineForBackup, type Context } from './context.js';
import { lockDatabases } from './db-locks.js';
import type { EventSink } from './events.js';
import { rollbackCommand } from './rollback-command.js';
import { startRecord } from './run-identity.js';
import { takeVerifiedBackup } from './take-backup.js';

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
  /** The caller already holds the databases' locks (a guarded run rolling back on failure). */
  locksHeld?: boolean;
  onEvent?: EventSink;
}

interface Target {
  backup: Backup;
  engine: Engine;
  staged?: StagedRestore;
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
  for (const backup of req.backups) {
    await fs.access(backup.path).catch(() => {
      throw new SafeRunError('restore', `backup ${backup.id} of ${backup.database} has no file any more (${backup.path})`, {
        stage: 'restore',
        database: backup.database,
        backupId: backup.id,
        hint: 'nothing was changed; pick another backup with: safe-run list',
      });
    });
    targets.push({ backup, engine: await engineForBackup(backup.database, req.into ?? backup.source) });
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

  try {
    await ctx.log.append(record);
    // 1. Stage and verify every copy before touching anything: a bad backup is refused, nothing changed.
    for (const t of targets) {
      const t0 = Date.now();
      emit({ type: 'restore-start', database: t.backup.database, backupId: t.backup.id, target: t.engine.location, size: t.backup.size });
      t.staged = await t.engine.stageRestore(t.backup.path, t.backup.sha256, ctx.config.check).catch((err) => {
        throw refused(t, err);
      });
      emit({ type: 'restore-verified', database: t.backup.database, ms: Date.now() - t0 });
    }
    // 2. A verified safety backup of each database as it is now.
    for (const t of targets) {
      if (!(await t.engine.exists())) continue; // nothing there to keep
      const t0 = Date.now();
      emit({ type: 'backup-start', database: t.engine.name, location: t.engine.location, size: await t.engine.size(), kind: 'pre-restore' });
      t.safety = await takeVerifiedBackup(t.engine, ctx.store, {
        kind: 'pre-restore',
        reason: `before restoring ${t.backup.id}`,
        runId: record.id,
        check: ctx.config.check,
      });
      emit({ type: 'backup-done', database: t.engine.name, backup: t.safety, ms: Date.now() - t0 });
    }
    // 3. Swap each in; if one fails, the ones already swapped go back to their safety backups.
    for (const t of targets) {
      const t0 = Date.now();
      const { method, heldBy } = await t.staged!.swap().catch((err) => {
        throw new SafeRunError('restore', `restoring ${t.backup.database} failed: ${describeCause(err)}; the database was put back as it was`, {
          stage: 'swap',
          database: t.backup.database,
          backupId: t.backup.id,
          hint: 'nothing was lost; check free space and permissions beside the database, then try again',
          cause: err,
        });
      });
      t.swapped = true;
      const entry = record.restored!.find((r) => r.backupId === t.backup.id);
      if (entry) entry.method = method;
      emit({ type: 'restore-done', database: t.backup.database, method, ms: Date.now() - t0, heldBy });
    }
  } catch (err) {
    await putBack(ctx, targets);
    for (const t of targets) await t.staged?.discard();
    await ctx.log
      .patch(record.id, finished(record, started, 'failed', { error: err instanceof Error ? err.message : String(err), backups: safetyRefs(targets) }))
      .catch(() => undefined);
    await locks?.release();
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
      const staged = await t.engine.stageRestore(t.safety.path, t.safety.sha256, ctx.config.check);
      await staged.swap();
    } catch {
      // The safety backup stays in the store; the error the caller sees names the database.
    }
  }
}

function refused(t: Target, err: unknown): SafeRunError {
  if (err instanceof SafeRunError) return err;
  const what =
    err instanceof ChecksumMismatchError
      ? `its sha256 does not match the one recorded (${err.message})`
      : err instanceof CheckFailedError
        ? `it fails the integrity check (${summariseCheck(err.result)})`
        : describeCause(err);
  return new SafeRunError('restore', `refusing to restore backup ${t.backup.id} of ${t.backup.database}: ${what}`, {
    stage: 'verify',
    database: t.backup.database,
    backupId: t.backup.id,
    hint: 'the live database was not touched; pick another backup with: safe-run list',
    cause: err,
  });
}
