// The pages of a SQLite file as the page store sees them: its page size (from the header) and the hash
// of each page, read once. Kept apart from store-pages.ts so that packs.ts can hash a full backup whose
// page list is damaged without the two importing each other.
import { promises as fs } from 'node:fs';
import { HASH_BYTES, pageHasherInto } from './page-hash.js';
import type { HashList } from './page-files.js';

/** Bytes read at a time. */
const CHUNK = 4 * 1024 * 1024;

/** The hash of every page of `file`, read once. */
export async function hashPages(file: string, size: number, pageSize: number): Promise<Buffer> {
  const hash = await pageHasherInto();
  const index = Buffer.alloc((size / pageSize) * HASH_BYTES);
  const fh = await fs.open(file, 'r');
  try {
    const buf = Buffer.allocUnsafe(CHUNK);
    for (let pos = 0; pos < size; ) {
      const { bytesRead } = await fh.read(buf, 0, Math.min(CHUNK, size - pos), pos);
      if (bytesRead === 0 || bytesRead % pageSize !== 0) throw new Error(`${file} changed while it was read`);
      for (let off = 0; off < bytesRead; off += pageSize) hash(buf.subarray(off, off + pageSize), index, ((pos + off) / pageSize) * HASH_BYTES);
      pos += bytesRead;
    }
  } finally {
    await fh.close();
  }
  return index;
}

/** The page size in a SQLite header (bytes 16–17, big-endian; 1 means 65536), 0 when it is not one. */
export function headerPageSize(head: Buffer): number {
  if (head.length < 100 || head.toString('latin1', 0, 16) !== 'SQLite format 3\0') return 0;
  const v = head.readUInt16BE(16);
  const ps = v === 1 ? 65536 : v;
  return ps >= 512 && (ps & (ps - 1)) === 0 ? ps : 0;
}

/** The page size a SQLite file's header gives, 0 when it has none. */
export async function pageSizeOf(file: string): Promise<number> {
  const fh = await fs.open(file, 'r');
  try {
    const head = Buffer.alloc(100);
    const { bytesRead } = await fh.read(head, 0, 100, 0);
    return headerPageSize(head.subarray(0, bytesRead));
  } finally {
    await fh.close();
  }
}

/**
 * The page list of a full backup's file, hashed from the file itself (a regular file of the size its
 * manifest records, a whole number of pages); undefined when it is not one.
 */
export async function pageListOfFull(file: string, recordedSize: number | undefined): Promise<HashList | undefined> {
  const size = await fs.lstat(file).then((s) => (s.isFile() ? s.size : -1), () => -1);
  const pageSize = size > 0 ? await pageSizeOf(file).catch(() => 0) : 0;
  if (!pageSize || size % pageSize !== 0 || size !== recordedSize) return undefined;
  return { pageSize, count: size / pageSize, hashes: await hashPages(file, size, pageSize) };
}
