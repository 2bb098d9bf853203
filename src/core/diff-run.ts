// What a run changed: its pre-run backups compared with the databases now (or with another backup).
import { statSync } from 'node:fs';
import type { DatabaseDiff } from '../diff/diff-types.js';
import { diffDatabase } from '../diff/diff-database.js';
import { SafeRunError } from '../errors.js';
import type { RunRecord } from '../oplog/run-record.js';
import type { Backup } from '../store/manifest.js';
import type { Context } from './context.js';

export interface DiffRunOptions {
  /** Compare with this backup instead of the live database. */
  to?: Backup;
  /** Changed rows to keep per table. */
  rows?: number;
}

/**
 * The backups of a run, as stored (with their facts); a missing one is an error that says so, of kind
 * 'restore' (exit 4, nothing changed) for a rollback, 'usage' otherwise.
 */
export async function backupsOfRun(ctx: Context, run: RunRecord, kind: 'usage' | 'restore' = 'usage'): Promise<Backup[]> {
  const stored = await ctx.store.list();
  return run.backups.map((ref) => {
    const b = stored.find((s) => s.id === ref.id);
    if (!b) {
      throw new SafeRunError(kind, `backup ${ref.id} of ${ref.database} (run ${run.id.slice(0, 8)}) is no longer in the store ${ctx.store.root}`, {
        database: ref.database,
        hint: 'nothing was changed; see what is left with: safe-run list',
      });
    }
    return b;
  });
}

export async function diffRun(ctx: Context, run: RunRecord, opts: DiffRunOptions = {}): Promise<DatabaseDiff[]> {
  let backups = await backupsOfRun(ctx, run);
  if (opts.to) {
    backups = backups.filter((b) => b.source === opts.to!.source);
    if (backups.length === 0) {
      throw new SafeRunError('usage', `backup ${opts.to.id.slice(0, 8)} is of ${opts.to.source}, which run ${run.id.slice(0, 8)} did not back up`, {
        hint: 'give --to a backup of one of the run\'s databases (safe-run list)',
      });
    }
  }
  const diffs: DatabaseDiff[] = [];
  for (const b of backups) diffs.push(await diffBackup(b, opts));
  return diffs;
}

/** A backup against its live database now (or against `opts.to`). */
export function diffBackup(b: Backup, opts: DiffRunOptions = {}): Promise<DatabaseDiff> {
  const before = { file: b.path, live: false, label: `backup ${b.id.slice(0, 8)}`, facts: b.facts };
  const after = opts.to
    ? { file: opts.to.path, live: false, label: `backup ${opts.to.id.slice(0, 8)}`, facts: opts.to.facts }
    : { file: b.source, live: true, label: 'now' };
  return diffDatabase(b.database, before, after, { rows: opts.rows, pageLevel: pageLevelWorks(before.file, after.file) });
}

/**
 * A 0-byte file is a valid empty database to SQLite, but it has no header to compare pages by: then
 * every row is compared instead (there are none on that side, so it costs nothing).
 */
function pageLevelWorks(...files: string[]): boolean {
  return files.every((f) => (statSync(f, { throwIfNoEntry: false })?.size ?? 1) > 0);
}

/** What restoring `b` would change: from the live database now to the backup. */
export function diffRestore(b: Backup, rows = 0): Promise<DatabaseDiff> {
  return diffDatabase(
    b.database,
    { file: b.source, live: true, label: 'now' },
    { file: b.path, live: false, label: `backup ${b.id.slice(0, 8)}`, facts: b.facts },
    { rows, pageLevel: pageLevelWorks(b.source, b.path) },
  );
}
