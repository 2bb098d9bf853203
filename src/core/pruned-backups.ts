// What the log says about backups retention removed: when, by which prune, and what is left instead.
import { SafeRunError } from '../errors.js';
import type { BackupRef, RunRecord } from '../oplog/run-record.js';
import type { Backup } from '../store/manifest.js';

export interface PruneNote {
  /** When it was removed (when the prune started, if it was killed before it noted the time). */
  at: string;
  pruneRunId: string;
}

/** The prune that removed backup `id`, if the log has one. */
export function prunedBy(runs: RunRecord[], id: string): PruneNote | undefined {
  for (const r of [...runs].reverse()) {
    const p = r.kind === 'prune' ? r.pruned?.find((x) => x.backupId === id) : undefined;
    if (p) return { at: p.at ?? r.startedAt, pruneRunId: r.id };
  }
  return undefined;
}

/**
 * The backup of the same database to restore instead of a pruned one: the newest taken before it (the
 * database as it was even earlier, so still before the run), else the oldest taken after it.
 */
export function insteadOf(stored: Backup[], ref: BackupRef, createdAt: string | undefined): Backup | undefined {
  const same = stored.filter((b) => b.database === ref.database && b.source === ref.source);
  if (!createdAt) return same.at(-1);
  return same.filter((b) => b.createdAt < createdAt).at(-1) ?? same.find((b) => b.createdAt > createdAt);
}

/** For a rollback: a run whose backup was pruned cannot be rolled back; say so and what to restore. */
export function refusePruned(runs: RunRecord[], stored: Backup[], run: RunRecord): void {
  for (const ref of run.backups) {
    if (stored.some((b) => b.id === ref.id)) continue;
    const note = prunedBy(runs, ref.id);
    if (!note) continue; // not ours: backupsOfRun says it is missing
    const prune = runs.find((r) => r.id === note.pruneRunId);
    const createdAt = prune?.pruned?.find((p) => p.backupId === ref.id)?.createdAt;
    const other = insteadOf(stored, ref, createdAt);
    const older = other && createdAt && other.createdAt < createdAt;
    throw new SafeRunError('restore', `backup ${ref.id} of ${ref.database}, taken before run ${run.id.slice(0, 8)}, was pruned on ${note.at.slice(0, 16).replace('T', ' ')} UTC (prune ${note.pruneRunId.slice(0, 8)}); nothing was changed`, {
      database: ref.database,
      hint: other
        ? `restore ${older ? 'an older' : 'a later'} backup of ${ref.database} instead (${other.createdAt.slice(0, 16).replace('T', ' ')} UTC): safe-run restore ${other.id}`
        : `no backup of ${ref.database} is left; see: safe-run list`,
    });
  }
}
