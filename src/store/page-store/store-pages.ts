// Store a verified full snapshot as pages: the pages no earlier backup of the database holds go into
// this backup's own pack, the others are referenced by hash (see page-files for the layout).
import { createHash } from 'node:crypto';
import { promises as fs, constants as fsc } from 'node:fs';
import path from 'node:path';
import { writeFileAtomic } from '../../files/durable.js';
import type { BackupFile, BackupManifest } from '../manifest.js';
import { HASH_BYTES, pageHasher } from './page-hash.js';
import { encodeHashList, INDEX_FILE, PACK_FILE, PACK_HASHES_FILE } from './page-files.js';
import { backupDirs, isFullSqlite, keyOf, PageLocator, packsOf } from './packs.js';

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
  /** The live database's identity: only backups of the same source are shared from (they share its lock). */
  source: string;
  /** The verified full snapshot, in the backup being written. */
  snapshot: string;
  /** Where this backup's other files go (`target.file`). */
  file(name: string): string;
}

/**
 * Replace `snapshot` by an index and a pack when earlier backups of the same database hold pages it can
 * share; undefined (the full file stays, with its index beside it when one was made) when there are
 * none, when it is not a whole number of pages, or when more than MAX_NEW_SHARE of its pages are new.
 * Runs under the database's lock, so no prune removes a shared pack meanwhile.
 */
export async function storeAsPages(req: StorePagesRequest): Promise<PagedBackup | undefined> {
  const { size } = await fs.stat(req.snapshot);
  const pageSize = await pageSizeOf(req.snapshot);
  if (!pageSize || size === 0 || size % pageSize !== 0) return undefined;
  const bases = (await backupDirs(req.dbDir)).filter(({ manifest: m }) => m.source === req.source && (m.pages || isFullSqlite(m)));
  if (bases.length === 0) return undefined;
  await indexNewestFull(bases);
  const locator = new PageLocator();
  for (const b of bases) for (const pack of await packsOf(b.dir, b.manifest)) if (pack.pageSize === pageSize) locator.add(pack);

  const pageCount = size / pageSize;
  const hash = await pageHasher();
  const index = Buffer.alloc(pageCount * HASH_BYTES);
  const own = new Set<string>();
  const ownHashes: Buffer[] = [];
  const packPath = req.file(PACK_FILE);
  const pack = await fs.open(packPath, fsc.O_WRONLY | fsc.O_CREAT | fsc.O_EXCL, 0o600);
  const packSha = createHash('sha256');
  let packSize = 0;
  const src = await fs.open(req.snapshot, 'r');
  try {
    const buf = Buffer.allocUnsafe(CHUNK);
    let out = Buffer.allocUnsafe(CHUNK);
    let outLen = 0;
    const flush = async () => {
      if (outLen === 0) return;
      await pack.write(out, 0, outLen);
      packSha.update(out.subarray(0, outLen));
      packSize += outLen;
      outLen = 0;
    };
    for (let pos = 0; pos < size; ) {
      const { bytesRead } = await src.read(buf, 0, Math.min(CHUNK, size - pos), pos);
      if (bytesRead === 0 || bytesRead % pageSize !== 0) throw new Error(`${req.snapshot} changed while it was read`);
      for (let off = 0; off < bytesRead; off += pageSize) {
        const page = buf.subarray(off, off + pageSize);
        const h = hash(page);
        const i = (pos + off) / pageSize;
        h.copy(index, i * HASH_BYTES);
        const key = keyOf(index, i);
        if (locator.has(key) || own.has(key)) continue;
        own.add(key);
        ownHashes.push(h);
        if (outLen + pageSize > out.length) await flush();
        page.copy(out, outLen);
        outLen += pageSize;
      }
      pos += bytesRead;
    }
    await flush();
    await pack.sync();
    out = Buffer.alloc(0);
  } finally {
    await src.close();
    await pack.close();
  }
  const indexBytes = await encodeHashList({ pageSize, count: pageCount, hashes: index });
  if (own.size > pageCount * MAX_NEW_SHARE) {
    await fs.rm(packPath, { force: true });
    await writeFileAtomic(req.file(INDEX_FILE), indexBytes); // the full file, ready to be shared from
    return undefined;
  }
  const hashesBytes = await encodeHashList({ pageSize, count: ownHashes.length, hashes: Buffer.concat(ownHashes) });
  await writeFileAtomic(req.file(PACK_HASHES_FILE), hashesBytes);
  await writeFileAtomic(req.file(INDEX_FILE), indexBytes);
  await fs.rm(req.snapshot);
  const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
  return {
    files: [
      { name: INDEX_FILE, size: indexBytes.length, sha256: sha(indexBytes) },
      { name: PACK_FILE, size: packSize, sha256: packSha.digest('hex') },
      { name: PACK_HASHES_FILE, size: hashesBytes.length, sha256: sha(hashesBytes) },
    ],
    pages: { pageSize, pageCount },
    newPages: own.size,
  };
}

/** The page size a SQLite file's header gives (bytes 16–17, big-endian; 1 means 65536), 0 when it has none. */
async function pageSizeOf(file: string): Promise<number> {
  const fh = await fs.open(file, 'r');
  try {
    const head = Buffer.alloc(100);
    const { bytesRead } = await fh.read(head, 0, 100, 0);
    if (bytesRead < 100 || head.toString('latin1', 0, 16) !== 'SQLite format 3\0') return 0;
    const v = head.readUInt16BE(16);
    const ps = v === 1 ? 65536 : v;
    return ps >= 512 && (ps & (ps - 1)) === 0 ? ps : 0;
  } finally {
    await fh.close();
  }
}

/**
 * Give the newest full backup among `bases` its index when it has none (a backup of an earlier version,
 * or a first backup): its pages are hashed while its sha256 is checked against its manifest, so a file
 * that changed since it was taken is never shared from.
 */
async function indexNewestFull(bases: Array<{ dir: string; manifest: BackupManifest }>): Promise<void> {
  const full = bases.filter((b) => isFullSqlite(b.manifest)).sort((a, b) => a.manifest.createdAt.localeCompare(b.manifest.createdAt)).at(-1);
  if (!full) return;
  const indexFile = path.join(full.dir, INDEX_FILE);
  if (await fs.stat(indexFile).then(() => true, () => false)) return;
  const file = path.join(full.dir, full.manifest.file);
  const { size } = await fs.stat(file).catch(() => ({ size: -1 }));
  const pageSize = size > 0 ? await pageSizeOf(file) : 0;
  if (!pageSize || size % pageSize !== 0 || size !== full.manifest.size) return;
  const hash = await pageHasher();
  const sha = createHash('sha256');
  const index = Buffer.alloc((size / pageSize) * HASH_BYTES);
  const fh = await fs.open(file, 'r');
  try {
    const buf = Buffer.allocUnsafe(CHUNK);
    for (let pos = 0; pos < size; ) {
      const { bytesRead } = await fh.read(buf, 0, Math.min(CHUNK, size - pos), pos);
      if (bytesRead === 0 || bytesRead % pageSize !== 0) return;
      sha.update(buf.subarray(0, bytesRead));
      for (let off = 0; off < bytesRead; off += pageSize) hash(buf.subarray(off, off + pageSize)).copy(index, ((pos + off) / pageSize) * HASH_BYTES);
      pos += bytesRead;
    }
  } finally {
    await fh.close();
  }
  if (sha.digest('hex') !== full.manifest.sha256) return; // changed on disk: not a base; verify reports it
  await writeFileAtomic(indexFile, await encodeHashList({ pageSize, count: size / pageSize, hashes: index }));
}
