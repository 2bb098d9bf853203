// Everything the store holds, including what `list` skips: backups whose manifest does not parse, and
// files that belong to no manifest. `verify` reports these instead of passing over them in silence.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { describeCause } from '../errors.js';
import { filesOf, MANIFEST, type Backup, type BackupManifest } from './manifest.js';
import { VERIFIED_FILE } from './verification-record.js';
import { isPageStoreFile } from './page-store/page-files.js';

/** Where doctor keeps a corrupted database it moved aside (never a backup, never an orphan). */
export const CORRUPTED_PREFIX = 'corrupted-';

/** A backup directory whose manifest cannot be read: its id is the directory's name. */
export interface DamagedBackup {
  id: string;
  database: string;
  dir: string;
  problem: string;
}

/** A file or directory in the store that no manifest describes. */
export interface OrphanEntry {
  database: string;
  path: string;
  why: string;
}

export interface StoreInventory {
  backups: Backup[];
  damaged: DamagedBackup[];
  orphans: OrphanEntry[];
}

type Read = { backup: Backup } | { problem: string } | { noManifest: true };

/**
 * Walk `<root>/<database>/<entry>`: hidden entries (temp directories of running or killed processes,
 * `.locks`) and doctor's `corrupted-*` directories are not looked at; every other entry is a backup, a
 * damaged backup, or an orphan.
 */
export async function inventory(root: string): Promise<StoreInventory> {
  const result: StoreInventory = { backups: [], damaged: [], orphans: [] };
  const databases = await fs.readdir(root, { withFileTypes: true }).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return [];
    throw err;
  });
  for (const dbEntry of databases) {
    if (!dbEntry.isDirectory() || dbEntry.name.startsWith('.')) continue;
    const database = dbEntry.name;
    const dbDir = path.join(root, database);
    for (const entry of await fs.readdir(dbDir, { withFileTypes: true })) {
      if (entry.name.startsWith('.') || entry.name.startsWith(CORRUPTED_PREFIX)) continue;
      const at = path.join(dbDir, entry.name);
      if (!entry.isDirectory()) {
        result.orphans.push({ database, path: at, why: 'a file outside any backup directory' });
        continue;
      }
      const read = await readManifest(at);
      if ('noManifest' in read) {
        result.orphans.push({ database, path: at, why: 'a directory without a manifest.json' });
        continue;
      }
      if ('problem' in read) {
        result.damaged.push({ id: entry.name, database, dir: at, problem: read.problem });
        continue;
      }
      result.backups.push(read.backup);
      const known = new Set([MANIFEST, VERIFIED_FILE, ...filesOf(read.backup).map((f) => f.name)]);
      for (const name of await fs.readdir(at)) {
        if (!known.has(name) && !name.startsWith('.') && !isPageStoreFile(name)) result.orphans.push({ database, path: path.join(at, name), why: `not a file of backup ${entry.name}` });
      }
    }
  }
  result.backups.sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.id.localeCompare(b.id));
  return result;
}

/** A manifest is read only when it is a regular file (never through a link) and has the fields we use. */
async function readManifest(dir: string): Promise<Read> {
  const file = path.join(dir, MANIFEST);
  const stat = await fs.lstat(file).catch(() => undefined);
  if (!stat) return { noManifest: true };
  if (!stat.isFile()) return { problem: `${MANIFEST} is not a regular file${stat.isSymbolicLink() ? ' (a symbolic link, not followed)' : ''}` };
  let manifest: BackupManifest;
  try {
    manifest = JSON.parse(await fs.readFile(file, 'utf8')) as BackupManifest;
  } catch (err) {
    return { problem: `${MANIFEST} does not parse: ${describeCause(err)}` };
  }
  const missing = (['id', 'database', 'source', 'file', 'sha256', 'createdAt'] as const).filter((k) => typeof manifest?.[k] !== 'string');
  if (manifest?.format !== 1 || missing.length > 0 || typeof manifest.size !== 'number') {
    return { problem: `${MANIFEST} is not a safe-run manifest (format 1 with ${missing[0] ?? 'size'})` };
  }
  if (manifest.id !== path.basename(dir)) return { problem: `${MANIFEST} names backup ${manifest.id}, not ${path.basename(dir)}` };
  return { backup: { ...manifest, path: path.join(dir, manifest.file) } };
}
