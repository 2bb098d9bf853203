// Store a verified full snapshot as pages: the pages no earlier backup of the database holds go into
// this backup's own pack, the others are referenced by hash (see page-files for the layout).
import { createHash } from 'node:crypto';
import { promises as fs, constants as fsc } from 'node:fs';
import path from 'node:path';
import { writeFileAtomic } from '../../files/durable.js';
import type { BackupFile, BackupManifest } from '../manifest.js';
import { HASH_BYTES, pageHasherInto } from './page-hash.js';
import { encodeHashList, INDEX_FILE, PACK_FILE, PACK_HASHES_FILE } from './page-files.js';
import { backupDirs, isFullSqlite, PageLocator, packsOf, type Pack } from './packs.js';
import { hashPages, headerPageSize, pageListOfFull, pageSizeOf } from './file-pages.js';

/** Bytes read at a time; a multiple of every page size (512 B – 64 KiB). */
const CHUNK = 4 * 1024 * 1024;

/**
 * Above this share of new pages a backup is kept whole: sharing would save little, and a full file is
 * what every later backup can share from most cheaply (one pack, slot i = page i).
 */
export const MAX_NEW_SHARE = 0.5;

export interface PagedBackup {
  /** The files now in the target, the index first. */
  files: BackupFile[];
  pages: { pageSize: number; pageCount: number };
  /** Pages stored in this backup's own pack. */
  newPages: number;
}

export interface StorePagesRequest {
  /** The database's directory in the store (its earlier backups are its subdirectories). */
  dbDir: string;
  /** The earlier backups to share pages from (sharePagesFrom). */
  bases: Base[];
  /** The verified full snapshot, in the backup being written (perhaps not fsynced yet). */
  snapshot: string;
  /** Its page hashes when they were taken as it was written (PageHashesAsCopied), else it is read here. */
  index?: Buffer;
  /** Where this backup's other files go (`target.file`). */
  file(name: string): string;
}

type Base = { dir: string; manifest: BackupManifest };

/**
 * The backups of the database whose pages a new backup of `source` may share: page backups and full
 * SQLite files of the same source (the same live database, so under the lock the new backup holds: no
 * prune removes them meanwhile). Empty: the new backup is a first one, kept whole.
 */
export async function sharePagesFrom(dbDir: string, source: string): Promise<Base[]> {
  return (await backupDirs(dbDir)).filter(({ manifest: m }) => m.source === source && (m.pages || isFullSqlite(m)));
}

/**
 * Page hashes taken from the chunks of a file as it is copied (SnapshotOptions.onChunk): the copy is
 * then not read again to hash it. `index` answers only if the chunks covered exactly the whole file.
 */
export class PageHashesAsCopied {
  private pageSize = 0;
  private seen = 0;
  private hashes: Buffer[] = [];
  private broken = false;
  private constructor(private readonly hash: (data: Uint8Array, out: Buffer, at: number) => void) {}

  static async make(): Promise<PageHashesAsCopied> {
    return new PageHashesAsCopied(await pageHasherInto());
  }

  readonly onChunk = (chunk: Buffer, offset: number): void => {
    if (this.broken) return;
    if (offset === 0) this.pageSize = headerPageSize(chunk);
    if (offset !== this.seen || !this.pageSize || chunk.length % this.pageSize !== 0) {
      this.broken = true;
      return;
    }
    const out = Buffer.allocUnsafe((chunk.length / this.pageSize) * HASH_BYTES);
    for (let off = 0, i = 0; off < chunk.length; off += this.pageSize, i++) this.hash(chunk.subarray(off, off + this.pageSize), out, i * HASH_BYTES);
    this.hashes.push(out);
    this.seen += chunk.length;
  };

  /** The hashes of every page of a file of `size` bytes and `pageSize`, if that is what the chunks were. */
  index(size: number, pageSize: number): Buffer | undefined {
    return !this.broken && this.seen === size && this.pageSize === pageSize ? Buffer.concat(this.hashes) : undefined;
  }
}

/**
 * Replace `snapshot` by an index and a pack when `bases` hold pages it can share; undefined (the full
 * file stays, with its index beside it when one was made) when it is not a whole number of pages, or
 * when more than MAX_NEW_SHARE of its pages are new. Runs under the database's lock.
 */
export async function storeAsPages(req: StorePagesRequest): Promise<PagedBackup | undefined> {
  const { size } = await fs.stat(req.snapshot);
  const pageSize = await pageSizeOf(req.snapshot);
  if (!pageSize || size === 0 || size % pageSize !== 0 || req.bases.length === 0) return undefined;
  const pageCount = size / pageSize;
  const index = req.index?.length === pageCount * HASH_BYTES ? req.index : await hashPages(req.snapshot, size, pageSize);
  const locator = new PageLocator();
  const addPacks = async () => {
    for (const b of req.bases) for (const pack of await packsOf(b.dir, b.manifest)) if (pack.pageSize === pageSize) locator.add(pack);
  };
  await addPacks();
  // Nothing to share from yet (the bases are full files without a page list): index the newest once.
  if (locator.size === 0 && (await indexNewestFull(req.bases))) await addPacks();

  // The pages no base holds, each once, in file order.
  const own = new PageLocator();
  const ownPages = { hashes: index } as Pack; // slot i: page i of this snapshot
  const fresh: number[] = [];
  for (let i = 0; i < pageCount; i++) {
    if (locator.find(index, i) || own.find(index, i)) continue;
    own.addSlot(ownPages, i);
    fresh.push(i);
  }
  const indexBytes = await encodeHashList({ pageSize, count: pageCount, hashes: index });
  if (fresh.length > pageCount * MAX_NEW_SHARE) {
    await writeFileAtomic(req.file(INDEX_FILE), indexBytes); // the full file, ready to be shared from
    return undefined;
  }
  const packPath = req.file(PACK_FILE);
  const pack = await fs.open(packPath, fsc.O_WRONLY | fsc.O_CREAT | fsc.O_EXCL, 0o600);
  const packSha = createHash('sha256');
  const packHashes = Buffer.alloc(fresh.length * HASH_BYTES);
  const src = await fs.open(req.snapshot, 'r');
  try {
    const buf = Buffer.allocUnsafe(CHUNK);
    const perChunk = CHUNK / pageSize;
    let written = 0;
    // Runs of neighbouring new pages are read in one call.
    for (let k = 0; k < fresh.length; ) {
      let n = 1;
      while (k + n < fresh.length && n < perChunk && fresh[k + n] === fresh[k]! + n) n++;
      const want = n * pageSize;
      const { bytesRead } = await src.read(buf, 0, want, fresh[k]! * pageSize);
      if (bytesRead !== want) throw new Error(`${req.snapshot} changed while it was read`);
      for (let j = 0; j < n; j++) index.copy(packHashes, (k + j) * HASH_BYTES, fresh[k + j]! * HASH_BYTES, (fresh[k + j]! + 1) * HASH_BYTES);
      await pack.write(buf, 0, want, written);
      packSha.update(buf.subarray(0, want));
      written += want;
      k += n;
    }
    await pack.sync();
  } finally {
    await src.close();
    await pack.close();
  }
  const hashesBytes = await encodeHashList({ pageSize, count: fresh.length, hashes: packHashes });
  await writeFileAtomic(req.file(PACK_HASHES_FILE), hashesBytes);
  await writeFileAtomic(req.file(INDEX_FILE), indexBytes);
  await fs.rm(req.snapshot);
  const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
  return {
    files: [
      { name: INDEX_FILE, size: indexBytes.length, sha256: sha(indexBytes) },
      { name: PACK_FILE, size: fresh.length * pageSize, sha256: packSha.digest('hex') },
      { name: PACK_HASHES_FILE, size: hashesBytes.length, sha256: sha(hashesBytes) },
    ],
    pages: { pageSize, pageCount },
    newPages: fresh.length,
  };
}

/**
 * Give the newest full backup among `bases` its page list (a first backup, or one written by an earlier
 * version); true when it now has one. Its sha256 is not checked on the way, because it need not be: a
 * page that changed on disk since has another hash than the live page it was a copy of, so nothing
 * shares it (and verify reports the file). Only a file of the size its manifest records is indexed.
 */
async function indexNewestFull(bases: Base[]): Promise<boolean> {
  const full = bases.filter((b) => isFullSqlite(b.manifest)).sort((a, b) => a.manifest.createdAt.localeCompare(b.manifest.createdAt)).at(-1);
  if (!full) return false;
  const list = await pageListOfFull(path.join(full.dir, full.manifest.file), full.manifest.size);
  if (!list) return false;
  await writeFileAtomic(path.join(full.dir, INDEX_FILE), await encodeHashList(list));
  return true;
}
