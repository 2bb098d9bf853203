// Where a database's stored pages are: every pack in its backups' directories, found by hash.
import { promises as fs, constants as fsc } from 'node:fs';
import path from 'node:path';
import { MANIFEST, type BackupManifest } from '../manifest.js';
import { HASH_BYTES } from './page-hash.js';
import { INDEX_FILE, movedHashFiles, PACK_FILE, PACK_HASHES_FILE, readHashList } from './page-files.js';
import { pageListOfFull } from './file-pages.js';

/** A file of raw pages and the hash of each of its slots. */
export interface Pack {
  /** The backup whose directory holds it. */
  owner: string;
  dir: string;
  /** The pages file and the hash list file. */
  data: string;
  hashFile: string;
  pageSize: number;
  count: number;
  hashes: Buffer;
  /** Its hash list was hashed again from the pages (the file beside it is damaged): never to be linked. */
  derived?: boolean;
}

export interface PageLocation {
  pack: Pack;
  slot: number;
}

/** A full SQLite backup stored as it was written, whose file can serve as a pack (slot i is page i). */
export function isFullSqlite(m: BackupManifest): boolean {
  return m.engine === 'sqlite' && !m.pages && !m.files && m.file === 'snapshot.sqlite';
}

/**
 * The packs in the backup directory `dir` (described by `m`). A damaged or missing hash list leaves
 * its pack out: its pages are then not found, which a restore reports, never guesses around.
 */
export async function packsOf(dir: string, m: BackupManifest): Promise<Pack[]> {
  const found: Array<{ data: string; hashFile: string }> = [];
  if (m.pages) {
    found.push({ data: PACK_FILE, hashFile: PACK_HASHES_FILE });
    const names = await fs.readdir(dir).catch(() => [] as string[]);
    for (const h of movedHashFiles(names)) found.push({ data: h.replace(/\.hashes$/, '.pack'), hashFile: h });
  } else if (!m.files && typeof m.file === 'string') {
    // One full file (its index is there only if a later backup shares from it): slot i is page i.
    found.push({ data: m.file, hashFile: INDEX_FILE });
  }
  const packs: Pack[] = [];
  for (const f of found) {
    let list = await readHashList(path.join(dir, f.hashFile)).catch(() => undefined);
    let derived = false;
    // A full file's page list is only derived from it: when that list is there but damaged, the file
    // (whose pages the whole-file sha256 of every reassembly still checks) is hashed again instead.
    if (!list && !m.pages && (await fs.lstat(path.join(dir, f.hashFile)).catch(() => undefined))) {
      list = await pageListOfFull(path.join(dir, f.data), m.size).catch(() => undefined);
      derived = list !== undefined;
    }
    if (!list) continue;
    packs.push({ owner: m.id, dir, data: path.join(dir, f.data), hashFile: path.join(dir, f.hashFile), ...list, ...(derived ? { derived } : {}) });
  }
  return packs;
}

/** Open a pack's file for reading, never through a symbolic link put in its place. */
export function openPack(file: string): Promise<fs.FileHandle> {
  return fs.open(file, fsc.O_RDONLY | fsc.O_NOFOLLOW);
}

/** Every listed backup directory of the database directory `dbDir` with its manifest (hidden ones are not listed). */
export async function backupDirs(dbDir: string): Promise<Array<{ dir: string; manifest: BackupManifest }>> {
  const out: Array<{ dir: string; manifest: BackupManifest }> = [];
  for (const name of (await fs.readdir(dbDir).catch(() => [] as string[])).sort()) {
    if (name.startsWith('.')) continue;
    const dir = path.join(dbDir, name);
    try {
      const manifest = JSON.parse(await fs.readFile(path.join(dir, MANIFEST), 'utf8')) as BackupManifest;
      if (manifest.format === 1 && manifest.id === name) out.push({ dir, manifest });
    } catch {
      // not a backup (or a damaged one): holds no pages we may use
    }
  }
  return out;
}

/**
 * Hash → where a page with that hash is stored (the first pack that has it). Keyed by 52 bits of the
 * hash as a number (a Map of numbers is several times faster than one of 16-byte strings: 420 ms of a
 * repeat backup of 1 GB went to string keys), every hit confirmed on all 128 bits.
 */
export class PageLocator {
  private readonly map = new Map<number, PageLocation | PageLocation[]>();
  private count = 0;

  add(pack: Pack): void {
    for (let slot = 0; slot < pack.count; slot++) this.addSlot(pack, slot);
  }

  /** One slot of a pack (or of any hash list standing for one). */
  addSlot(pack: Pack, slot: number): void {
    const k = numberOf(pack.hashes, slot);
    const found = this.map.get(k);
    if (found === undefined) {
      this.map.set(k, { pack, slot });
      this.count++;
      return;
    }
    const list = Array.isArray(found) ? found : [found];
    if (list.some((l) => same(l, pack.hashes, slot))) return;
    list.push({ pack, slot });
    this.map.set(k, list);
    this.count++;
  }

  /** Where the page whose hash is the i-th of `hashes` is stored. */
  find(hashes: Buffer, i: number): PageLocation | undefined {
    const found = this.map.get(numberOf(hashes, i));
    if (found === undefined) return undefined;
    if (!Array.isArray(found)) return same(found, hashes, i) ? found : undefined;
    return found.find((l) => same(l, hashes, i));
  }

  /** The same, for a hash given as a key (keyOf). */
  get(key: string): PageLocation | undefined {
    return this.find(Buffer.from(key, 'latin1'), 0);
  }

  has(key: string): boolean {
    return this.get(key) !== undefined;
  }

  get size(): number {
    return this.count;
  }
}

function numberOf(hashes: Buffer, i: number): number {
  const at = i * HASH_BYTES;
  return hashes.readUInt32LE(at) * 0x100000 + (hashes.readUInt32LE(at + 4) >>> 12);
}

function same(l: PageLocation, hashes: Buffer, i: number): boolean {
  return l.pack.hashes.compare(hashes, i * HASH_BYTES, (i + 1) * HASH_BYTES, l.slot * HASH_BYTES, (l.slot + 1) * HASH_BYTES) === 0;
}

/** The map key of the i-th hash of a list. */
export function keyOf(hashes: Buffer, i: number): string {
  return hashes.toString('latin1', i * HASH_BYTES, (i + 1) * HASH_BYTES);
}
