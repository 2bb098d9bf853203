// Just enough of SQLite's b-tree format to list a tree's pages and the rowids on a table leaf.
// Format: https://www.sqlite.org/fileformat.html#b_tree_pages
import type { PageSource } from './page-source.js';

const INDEX_INTERIOR = 2;
const TABLE_INTERIOR = 5;
const INDEX_LEAF = 10;
const TABLE_LEAF = 13;

export interface TreePages {
  /** Leaf pages in key order. */
  leaves: number[];
  /** Root and interior pages. */
  interior: number[];
}

export class UnexpectedPageError extends Error {
  constructor(pgno: number, what: string) {
    super(`page ${pgno}: ${what}`);
    this.name = 'UnexpectedPageError';
  }
}

/** Where a b-tree page's header starts: page 1 carries the 100-byte database header first. */
const headerAt = (pgno: number) => (pgno === 1 ? 100 : 0);

/**
 * Walk the b-tree rooted at `root`, reading only its interior pages (about 1 % of a table's pages).
 * SQLite's b-trees are balanced (every leaf at the same depth), so the first child of an interior page
 * tells whether all of its children are leaves; the leaves themselves are never read. A page that turns
 * out not to be what the tree says is caught when a leaf is parsed (UnexpectedPageError).
 */
export function walkTree(src: PageSource, root: number): TreePages {
  const leaves: number[] = [];
  const interior: number[] = [];
  const buf = Buffer.alloc(src.pageSize);
  const seen = new Set<number>();
  const typeOf = (pgno: number) => {
    if (pgno < 1 || pgno > src.pageCount || seen.has(pgno)) throw new UnexpectedPageError(pgno, 'not a valid b-tree page');
    src.read(pgno, buf);
    return buf[headerAt(pgno)];
  };
  const childrenOf = (pgno: number): number[] => {
    const h = headerAt(pgno);
    const n = buf.readUInt16BE(h + 3);
    const children: number[] = [];
    for (let i = 0; i < n; i++) children.push(buf.readUInt32BE(buf.readUInt16BE(h + 12 + 2 * i)));
    children.push(buf.readUInt32BE(h + 8));
    return children;
  };
  let level = [root];
  for (let depth = 0; level.length > 0; depth++) {
    if (depth > 64) throw new UnexpectedPageError(root, 'tree too deep');
    const type = typeOf(level[0]!);
    if (type === TABLE_LEAF || type === INDEX_LEAF) {
      for (const p of level) leaves.push(p);
      break;
    }
    const next: number[] = [];
    for (const pgno of level) {
      const t = pgno === level[0] ? type : typeOf(pgno);
      if (t !== TABLE_INTERIOR && t !== INDEX_INTERIOR) throw new UnexpectedPageError(pgno, `page type ${t} among interior pages`);
      seen.add(pgno);
      interior.push(pgno);
      next.push(...childrenOf(pgno));
    }
    level = next;
  }
  return { leaves, interior };
}

/** A varint at `at`: its value (as bigint) and length. */
function varint(buf: Buffer, at: number): [bigint, number] {
  let v = 0n;
  for (let i = 0; i < 8; i++) {
    const b = buf[at + i]!;
    v = (v << 7n) | BigInt(b & 0x7f);
    if ((b & 0x80) === 0) return [v, i + 1];
  }
  return [(v << 8n) | BigInt(buf[at + 8]!), 9];
}

/** The first and last rowid stored on a table leaf page (the page holds every row between them), or undefined when empty. */
export function rowidRangeOfLeaf(src: PageSource, pgno: number, buf: Buffer = Buffer.alloc(src.pageSize)): RowidRange | undefined {
  const ids = rowidsOnLeaf(src, pgno, buf);
  return ids.length ? [ids[0]!, ids[ids.length - 1]!] : undefined;
}

export type RowidRange = [bigint, bigint];

/** The rowids stored on a table leaf page. */
export function rowidsOnLeaf(src: PageSource, pgno: number, buf: Buffer = Buffer.alloc(src.pageSize)): bigint[] {
  src.read(pgno, buf);
  const h = headerAt(pgno);
  if (buf[h] !== TABLE_LEAF) throw new UnexpectedPageError(pgno, 'not a table leaf');
  const n = buf.readUInt16BE(h + 3);
  const out: bigint[] = [];
  for (let i = 0; i < n; i++) {
    let at = buf.readUInt16BE(h + 8 + 2 * i);
    at += varint(buf, at)[1]; // payload size
    const [rowid] = varint(buf, at);
    out.push(BigInt.asIntN(64, rowid));
  }
  return out;
}

/** Free pages (trunk and leaf) of the database. */
export function freelistPages(src: PageSource): Set<number> {
  const head = src.read(1);
  const pages = new Set<number>();
  let trunk = head.readUInt32BE(32);
  const buf = Buffer.alloc(src.pageSize);
  while (trunk > 0 && trunk <= src.pageCount && !pages.has(trunk)) {
    pages.add(trunk);
    src.read(trunk, buf);
    const n = Math.min(buf.readUInt32BE(4), (src.pageSize - 8) / 4);
    for (let i = 0; i < n; i++) pages.add(buf.readUInt32BE(8 + 4 * i));
    trunk = buf.readUInt32BE(0);
  }
  return pages;
}

/** Pages SQLite keeps for itself: pointer-map pages (auto-vacuum) and the lock-byte page. */
export function bookkeepingPages(src: PageSource): Set<number> {
  const pages = new Set<number>([1]);
  const lockByte = Math.floor(1073741824 / src.pageSize) + 1;
  if (lockByte <= src.pageCount) pages.add(lockByte);
  const head = src.read(1);
  if (head.readUInt32BE(52) !== 0) {
    const usable = src.pageSize - head[20]!;
    const perMap = Math.floor(usable / 5);
    for (let p = 2; p <= src.pageCount; p += perMap + 1) pages.add(p);
  }
  return pages;
}
