// Choose between the two backup strategies: `auto` clones when it can and dumps when it cannot.
import { CloneUnavailable, cloneDatabase, type CloneBackup } from './clone.js';
import { dumpDatabase, type DumpBackup, type DumpOptions } from './dump.js';
import type { PgTarget } from './url.js';

export type BackupStrategy = 'clone' | 'dump' | 'auto';

/** A backup of either kind; `fellBackBecause` says why `auto` dumped instead of cloning. */
export type PgBackup = (CloneBackup | DumpBackup) & { fellBackBecause?: string };

/**
 * Back up `target`'s database with `strategy`. `clone` and `dump` do just that (see cloneDatabase,
 * dumpDatabase). `auto` tries a clone and, when the database is in use or the role may not clone it,
 * dumps to `dumpFile` instead, reporting why in `fellBackBecause`; any other clone failure is thrown.
 */
export async function backupDatabase(target: PgTarget, strategy: BackupStrategy, where: { backupId: string; dumpFile: string }, opts: DumpOptions = {}): Promise<PgBackup> {
  if (strategy === 'dump') return dumpDatabase(target, where.dumpFile, opts);
  if (strategy === 'clone') return cloneDatabase(target, where.backupId);
  try {
    return await cloneDatabase(target, where.backupId);
  } catch (err) {
    if (!(err instanceof CloneUnavailable)) throw err;
    const dump = await dumpDatabase(target, where.dumpFile, opts);
    return { ...dump, fellBackBecause: err.message };
  }
}
