// Which pages differ between two page sources: a sequential, chunked, page-by-page comparison.
import type { PageSource } from './page-source.js';

/** Pages per read: 16 MiB reads keep the comparison at disk/memory speed. */
const CHUNK_BYTES = 16 * 1024 * 1024;

export function changedPages(a: PageSource, b: PageSource): Set<number> {
  const changed = new Set<number>();
  const size = a.pageSize;
  const max = Math.max(a.pageCount, b.pageCount);
  const per = Math.max(1, Math.floor(CHUNK_BYTES / size));
  const bufA = Buffer.allocUnsafe(per * size);
  const bufB = Buffer.allocUnsafe(per * size);
  for (let first = 1; first <= max; first += per) {
    const count = Math.min(per, max - first + 1);
    a.readRun(first, count, bufA);
    b.readRun(first, count, bufB);
    const bytes = count * size;
    // Most chunks are identical: one compare for the whole chunk, then page by page only where needed.
    if (bufA.compare(bufB, 0, bytes, 0, bytes) === 0) continue;
    for (let i = 0; i < count; i++) {
      const s = i * size;
      if (bufA.compare(bufB, s, s + size, s, s + size) !== 0) changed.add(first + i);
    }
  }
  return changed;
}
