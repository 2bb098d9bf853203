// What the dashboard shows, read from the same log and store as the CLI: one source for the pages and /api/.
import type { Context } from '../core/context.js';
import { diffRun } from '../core/diff-run.js';
import { describeCause } from '../errors.js';
import type { RunRecord } from '../oplog/run-record.js';
import type { ServeStatus } from '../serve/status.js';
import { footprint, type Backup } from '../store/manifest.js';
import { lastVerification, type VerificationRecord } from '../store/verification-record.js';
import { fileState, type FileState } from '../cli/render/backup-state.js';
import { backupJson, runJson } from '../cli/render/json.js';
import { compactSummary } from '../cli/render/diff-summary.js';
import { describeRun, isFailure } from '../cli/render/run-summary.js';

export interface RunRow {
  record: RunRecord;
  /** The command as it could be typed again. */
  command: string;
  failed: boolean;
}

/** The newest `limit` runs, newest first, and how many the log holds in all. */
export async function recentRuns(ctx: Context, limit: number): Promise<{ runs: RunRow[]; total: number }> {
  const found = await ctx.log.newest(limit);
  const runs = found.runs
    .slice(-limit)
    .reverse()
    .map((record) => ({ record, command: describeRun(record), failed: isFailure(record) }));
  return { runs, total: found.total };
}

/**
 * The newest run that changed `database` after `since` (ms since the epoch): a guarded run, a restore or
 * a rollback that ended then. One without an end counts from its start: it runs still (and holds the
 * database's lock, so the restore waits for it anyway), or its safe-run was killed, and its entry never
 * ends. Backups and prunes change no database; a run aborted before its command changed nothing.
 */
export async function changeSince(ctx: Context, database: string, since: number): Promise<RunRow | undefined> {
  const { runs } = await recentRuns(ctx, 200);
  return runs.find(({ record: r }) => r.databases.includes(database) && r.kind !== 'backup' && r.kind !== 'prune' && r.status !== 'aborted' && Date.parse(r.endedAt ?? r.startedAt) > since);
}

/** A run found by its full id in the log (never a path), or undefined. */
export async function findRun(ctx: Context, id: string): Promise<RunRecord | undefined> {
  return (await ctx.log.runs()).find((r) => r.id === id);
}

/** A backup found by its full id in the store's listing (never joined into a path), or undefined. */
export async function findBackup(ctx: Context, id: string): Promise<Backup | undefined> {
  return (await ctx.store.list()).find((b) => b.id === id);
}

/** What changed in each database since the run's backups, one line each, or why it cannot be said. */
export async function diffLines(ctx: Context, run: RunRecord): Promise<string[]> {
  if (run.backups.length === 0 || run.kind === 'backup' || run.kind === 'prune') return [];
  try {
    return (await diffRun(ctx, run, { rows: 0 })).map(compactSummary);
  } catch (err) {
    return [`not available: ${describeCause(err)}`];
  }
}

export interface BackupRow {
  backup: Backup;
  /** The cheap look `safe-run list` takes: the file is there with its size, and its check passed. */
  state: FileState;
  /** The last re-verification (`safe-run verify` or the dashboard's Verify). */
  lastVerified?: VerificationRecord;
  /** Bytes it takes: its files, plus its copy on a server. */
  bytes: number;
}

/** Every backup in the store, newest first, with its state. */
export async function backupRows(ctx: Context): Promise<BackupRow[]> {
  const backups = (await ctx.store.list()).reverse();
  return Promise.all(
    backups.map(async (backup) => ({ backup, state: await fileState(backup), lastVerified: await lastVerification(backup.path), bytes: footprint(backup) })),
  );
}

export interface Span {
  count: number;
  bytes: number;
  newest: string | null;
  oldest: string | null;
}

export interface BackupStats extends Span {
  byKind: Record<string, number>;
  byDatabase: Record<string, Span & { byKind: Record<string, number> }>;
}

/** Count per kind, total size, newest and oldest: for the store and for each database. */
export function backupStats(rows: BackupRow[]): BackupStats {
  const empty = (): Span & { byKind: Record<string, number> } => ({ count: 0, bytes: 0, newest: null, oldest: null, byKind: {} });
  const add = (s: Span & { byKind: Record<string, number> }, r: BackupRow) => {
    s.count++;
    s.bytes += r.bytes;
    s.byKind[r.backup.kind] = (s.byKind[r.backup.kind] ?? 0) + 1;
    const at = r.backup.createdAt;
    if (!s.newest || at > s.newest) s.newest = at;
    if (!s.oldest || at < s.oldest) s.oldest = at;
  };
  const all = empty();
  const byDatabase: BackupStats['byDatabase'] = {};
  for (const r of rows) {
    add(all, r);
    add((byDatabase[r.backup.database] ??= empty()), r);
  }
  return { ...all, byDatabase };
}

/** The JSON of /api/runs: the same fields as `safe-run log --json`, plus `failed`. */
export function runsJson(rows: RunRow[]) {
  return rows.map((r) => ({ ...runJson(r.record), failed: r.failed }));
}

/** The JSON of /api/backups: the same fields as `safe-run list --json`, plus the state and last verification. */
export function backupsJson(rows: BackupRow[]) {
  return rows.map((r) => ({ ...backupJson(r.backup), state: r.state, bytes: r.bytes, lastVerified: r.lastVerified ?? null }));
}

/** The JSON of /api/health: the server's status as the scheduler keeps it. */
export function healthJson(status: ServeStatus) {
  return status;
}
