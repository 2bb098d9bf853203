// The page store's files and their one binary format: a list of 128-bit page hashes with its own checksum.
//
// In a backup directory:
//   pages.idx      the backup's pages in order: page i of the database has hash i (its "index")
//   pages.pack     the pages this backup was first to hold, raw, one after the other ("slots")
//   pages.hashes   the hash of each slot of pages.pack
//   moved-<r>.pack / moved-<r>.hashes   pages a pruned backup held that this one needs (see rescue-pages)
// A full backup (snapshot.sqlite) is a pack too: slot i is page i, and its pages.idx lists its slots'
// hashes (written when a later backup first shares its pages). A pack without its .hashes is not a pack.
import { promises as fs } from 'node:fs';
import { pageHasher, HASH_BYTES } from './page-hash.js';

export const INDEX_FILE = 'pages.idx';
export const PACK_FILE = 'pages.pack';
export const PACK_HASHES_FILE = 'pages.hashes';
const MOVED = /^moved-[0-9a-f]{16}\.(pack|hashes)$/;

/** The names the page store may add to a backup directory (not orphans to `verify`). */
export function isPageStoreFile(name: string): boolean {
  return name === INDEX_FILE || name === PACK_FILE || name === PACK_HASHES_FILE || MOVED.test(name);
}

/** The moved packs' .hashes files among a directory's names. */
export function movedHashFiles(names: string[]): string[] {
  return names.filter((n) => MOVED.test(n) && n.endsWith('.hashes')).sort();
}

const MAGIC = Buffer.from('SRPAGES1');
const HEADER = MAGIC.length + 8;

/** A list of page hashes: `hashes` holds `count` hashes of HASH_BYTES each, for pages of `pageSize`. */
export interface HashList {
  pageSize: number;
  count: number;
  hashes: Buffer;
}

/** The bytes of a hash list: magic, page size, count, the hashes, then the xxh3-128 of all that. */
export async function encodeHashList(list: HashList): Promise<Buffer> {
  const out = Buffer.alloc(HEADER + list.count * HASH_BYTES + HASH_BYTES);
  MAGIC.copy(out, 0);
  out.writeUInt32LE(list.pageSize, MAGIC.length);
  out.writeUInt32LE(list.count, MAGIC.length + 4);
  list.hashes.copy(out, HEADER, 0, list.count * HASH_BYTES);
  const hash = await pageHasher();
  hash(out.subarray(0, out.length - HASH_BYTES)).copy(out, out.length - HASH_BYTES);
  return out;
}

/** Read a hash list; rejects with a message naming the file when it is not one or its checksum fails. */
export async function readHashList(file: string): Promise<HashList> {
  const data = await fs.readFile(file);
  const bad = (why: string) => new Error(`${file} is damaged: ${why}`);
  if (data.length < HEADER + HASH_BYTES || !data.subarray(0, MAGIC.length).equals(MAGIC)) throw bad('not a page hash list');
  const pageSize = data.readUInt32LE(MAGIC.length);
  const count = data.readUInt32LE(MAGIC.length + 4);
  if (data.length !== HEADER + count * HASH_BYTES + HASH_BYTES) throw bad('wrong length');
  const hash = await pageHasher();
  if (!hash(data.subarray(0, data.length - HASH_BYTES)).equals(data.subarray(data.length - HASH_BYTES))) throw bad('checksum mismatch');
  return { pageSize, count, hashes: data.subarray(HEADER, HEADER + count * HASH_BYTES) };
}
