// What the dashboard's forms do, through the same core calls as the CLI: the same locks, store and log.
import { restorePreview, safetyLines } from '../cli/commands/restore-flow.js';
import type { Context } from '../core/context.js';
import { guard } from '../core/guard.js';
import { recheckBackup } from '../core/recheck-backup.js';
import { restoreBackups } from '../core/restore.js';
import type { RunRecord } from '../oplog/run-record.js';
import type { Backup } from '../store/manifest.js';
import { recordVerification, type VerificationRecord } from '../store/verification-record.js';

/**
 * How long an action waits for a database another operation holds (a scheduled backup, a guarded run),
 * before it answers that the database is busy: long enough for a small backup to finish, short enough
 * for a person waiting on a page.
 */
export const ACTION_WAIT_MS = 5_000;

/** A manual backup of every configured database, as `safe-run backup --reason` takes it. */
export async function takeManualBackup(ctx: Context, reason: string): Promise<Backup[]> {
  const { backups } = await guard(
    ctx,
    { databases: ctx.config.databases, argv: ['backup', '--reason', reason], kind: 'backup', backupKind: 'manual', reason, waitMs: ACTION_WAIT_MS, rollbackOnFailure: false },
    async () => ({ ok: true, exitCode: 0, signal: null }),
  );
  return backups;
}

/** Re-hash and re-check one backup as a restore would, and record the result as `safe-run verify` does. */
export async function verifyBackup(ctx: Context, backup: Backup): Promise<VerificationRecord> {
  const level = backup.facts.check.level ?? ctx.config.check;
  const check = await recheckBackup(backup, level, true, ctx.config.databases);
  const record: VerificationRecord = { at: new Date().toISOString(), level, ok: check.verified === true, problems: check.verifyError ? [check.verifyError] : [] };
  await recordVerification(backup.path, record);
  return record;
}

/** What the preview page shows: the change from now to the backup, and what protects from the restore. */
export async function previewRestore(ctx: Context, backup: Backup): Promise<{ preview: string[]; safety: string[] }> {
  const [preview, safety] = await Promise.all([restorePreview(ctx)(backup), safetyLines(ctx, [{ backup }])]);
  return { preview, safety };
}

/** The core restore (verify, safety backup, swap, check; put back on failure), logged like `safe-run restore`. */
export async function restoreFromDashboard(ctx: Context, backup: Backup): Promise<RunRecord> {
  return restoreBackups(ctx, { backups: [backup], kind: 'restore', argv: ['restore', backup.id], reason: 'restored from the dashboard', waitMs: ACTION_WAIT_MS });
}
