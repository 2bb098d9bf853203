// What `--db NAME|PATH` picks out of the log and the store, for the review commands (log, list).
import { realpathSync } from 'node:fs';
import path from 'node:path';
import { selectDatabases, type Config } from '../../config.js';

/** Whether a run or a backup concerns one of the selected databases, by name or by source path. */
export type DbFilter = (names: string[], sources: string[]) => boolean;

/**
 * Each selector is resolved as the guarded run resolves `--db` (selectDatabases): a configured name, or a
 * path resolved against cwd. A configured database matches by its name or its path; a path that is not
 * in the config matches by path only (its made-up name could belong to another file). A bare word that
 * is not configured still matches by name, so the runs of a database since removed from the config stay
 * findable.
 */
export function dbFilter(config: Config, cwd: string, selectors: string[]): DbFilter | undefined {
  if (selectors.length === 0) return undefined;
  const names = new Set<string>();
  const sources = new Set<string>();
  for (const sel of selectors) {
    const [db] = selectDatabases(config, cwd, [sel]);
    if (!db) continue;
    const configured = config.databases.some((d) => d.name === db.name && d.url === db.url);
    if (configured) names.add(db.name);
    else if (!sel.includes('/') && !sel.includes(path.sep)) names.add(sel);
    sources.add(db.url);
    sources.add(canonical(db.url));
  }
  return (runNames, runSources) => runNames.some((n) => names.has(n)) || runSources.some((s) => sources.has(s));
}

/** Symlinks resolved as the SQLite engine records a backup's source (the file itself may be gone). */
function canonical(file: string): string {
  try {
    return realpathSync(file);
  } catch {
    try {
      return path.join(realpathSync(path.dirname(file)), path.basename(file));
    } catch {
      return file;
    }
  }
}
