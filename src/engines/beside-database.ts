// What safe-run keeps beside a database file (SQLite, DuckDB): its lock file, and what a killed
// safe-run may leave there (a staged copy, the old file kept during a swap).
import { promises as fs, constants as fsc } from 'node:fs';
import path from 'node:path';
import { SafeRunError } from '../errors.js';

/**
 * The lock file of the database at `location`: always beside it, so that every safe-run sees the same
 * lock whatever its config or store. A lock in the store (as before) let two configs with different
 * stores run at once.
 */
export async function lockFileBeside(name: string, location: string): Promise<string> {
  const beside = `${location}.safe-run-lock`;
  const canWrite = (p: string) => fs.access(p, fsc.W_OK).then(() => true, () => false);
  if ((await canWrite(beside)) || (await canWrite(path.dirname(location)))) return beside;
  throw new SafeRunError('locked', `cannot lock ${name}: its lock file ${beside} does not exist and ${path.dirname(location)} is not writable`, {
    stage: 'lock',
    database: name,
    hint: `safe-run keeps one lock per database beside it, the same for every config; have it created once, writable for you (touch ${beside}), or make the directory writable`,
  });
}

/**
 * Remove a staged copy (.tmp-) or the old file kept during a swap (.aside-), with the engine's side files
 * (`-wal`, `.wal`, …). By the order of the swap, the database itself is whole either way. Only a holder
 * of this database's lock writes these, and the caller holds it now: whoever wrote them is gone, whatever
 * its pid says in this PID namespace. The lock's note (`<db>.safe-run-lock.json`) is written the same way.
 */
export async function removeLeftoversBeside(location: string, sideSuffixes: readonly string[]): Promise<string[]> {
  const dir = path.dirname(location);
  const base = path.basename(location);
  const sides = sideSuffixes.map((s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|');
  const leftover = new RegExp(`^(?:safe-run-lock\\.json\\.)?(?:tmp|aside)-\\d+-[0-9a-f]{8}(?:${sides})?$`);
  const removed: string[] = [];
  for (const name of await fs.readdir(dir).catch(() => [] as string[])) {
    if (!name.startsWith(`.${base}.`)) continue;
    if (leftover.test(name.slice(base.length + 2))) {
      await fs.rm(path.join(dir, name), { force: true });
      removed.push(name);
    }
  }
  return removed;
}
