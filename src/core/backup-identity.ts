// A backup is what the operation log says it is: a manifest that disagrees with its run is damaged.
import { SafeRunError } from '../errors.js';
import type { RunRecord } from '../oplog/run-record.js';
import type { Backup } from '../store/manifest.js';

/**
 * Refuse a backup whose manifest names another database, source or checksum than the run that took it
 * logged. The manifest sits in the store beside the file and is easy to edit or damage; the log entry
 * was written by the run itself, so it says which database the backup may go back to.
 */
export function checkAgainstLog(backup: Backup, runs: RunRecord[]): void {
  for (const run of runs) {
    const ref = run.backups.find((r) => r.id === backup.id);
    if (!ref) continue;
    const differs = (['source', 'database', 'sha256'] as const).filter((k) => ref[k] !== backup[k]);
    if (differs.length === 0) continue;
    const k = differs[0]!;
    throw new SafeRunError('restore', `backup ${backup.id} is damaged: its manifest says ${k} ${backup[k]}, but run ${run.id.slice(0, 8)} logged ${ref[k]}`, {
      stage: 'identity',
      database: ref.database,
      backupId: backup.id,
      hint: 'nothing was changed; do not use this backup: pick another one with: safe-run list',
    });
  }
}
