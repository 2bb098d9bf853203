// Which pages differ between two page sources: a sequential, chunked, page-by-page comparison, split
// between this thread and a worker for large files (copying pages out of the page cache is the cost).
import { builtFile } from '../../../files/built-file.js';
import { Worker } from 'node:worker_threads';
import { alignedBuffer } from '../../../files/aligned-buffer.js';
import { FilePageSource, LivePageSource, type PageSource } from './page-source.js';
import type { WalIndex } from './wal-reader.js';

/** Pages per read: large reads keep the comparison at memory speed. */
const CHUNK_BYTES = 4 * 1024 * 1024;
/** Below this, a second thread costs more to start than it saves. */
const PARALLEL_BYTES = 64 * 1024 * 1024;

/** Pages `first`..`last` (inclusive) whose bytes differ. */
export function changedPages(a: PageSource, b: PageSource, first = 1, last = Math.max(a.pageCount, b.pageCount)): Set<number> {
  const changed = new Set<number>();
  const size = a.pageSize;
  const per = Math.max(1, Math.floor(CHUNK_BYTES / size));
  const bufA = alignedBuffer(per * size);
  const bufB = alignedBuffer(per * size);
  for (let from = first; from <= last; from += per) {
    const count = Math.min(per, last - from + 1);
    a.readRun(from, count, bufA);
    b.readRun(from, count, bufB);
    const bytes = count * size;
    // Most chunks are identical: one compare for the whole chunk, then page by page only where needed.
    if (bufA.compare(bufB, 0, bytes, 0, bytes) === 0) continue;
    for (let i = 0; i < count; i++) {
      const s = i * size;
      if (bufA.compare(bufB, s, s + size, s, s + size) !== 0) changed.add(from + i);
    }
  }
  return changed;
}

/**
 * How a worker reads the same pages: the descriptors this thread has open (threads share them; a
 * worker that opened and closed the file itself would drop this process's locks on it, the read
 * transaction's among them), and for a live database the WAL index already read (the same commit).
 */
export interface SourceSpec {
  file: string;
  fd: number;
  live: boolean;
  walFd?: number;
  wal?: { frames: Array<[number, number]>; pageCount: number; salts: [number, number] } | null;
}

export function specOf(src: PageSource): SourceSpec {
  const file = src as FilePageSource;
  if (src instanceof LivePageSource) {
    const wal = src.wal ? { frames: [...src.wal.frames], pageCount: src.wal.pageCount, salts: src.wal.salts } : null;
    return { file: src.file, fd: src.descriptor, live: true, walFd: src.walDescriptor, wal };
  }
  return { file: file.file, fd: file.descriptor, live: false };
}

export function openSpec(spec: SourceSpec): PageSource {
  if (!spec.live) return new FilePageSource(spec.file, spec.fd);
  const wal: WalIndex | null = spec.wal ? { frames: new Map(spec.wal.frames), pageCount: spec.wal.pageCount, salts: spec.wal.salts } : null;
  return new LivePageSource(spec.file, wal, { fd: spec.fd, walFd: spec.walFd });
}

/** changedPages over the whole files, the upper half in a worker thread when they are large. */
export async function changedPagesInParallel(a: PageSource, b: PageSource): Promise<Set<number>> {
  const last = Math.max(a.pageCount, b.pageCount);
  if (last * a.pageSize < PARALLEL_BYTES) return changedPages(a, b);
  const mid = Math.floor(last / 2);
  const theirs = new Promise<number[]>((resolve, reject) => {
    const worker = new Worker(builtFile('engines/sqlite/diff/changed-pages-worker.js', import.meta.url), {
      workerData: { a: specOf(a), b: specOf(b), first: mid + 1, last },
    });
    worker.once('message', (m: { ok: boolean; pages?: number[]; error?: string }) => (m.ok ? resolve(m.pages!) : reject(new Error(m.error))));
    worker.once('error', reject);
    worker.once('exit', (code) => code !== 0 && reject(new Error(`page comparison worker exited with code ${code}`)));
  });
  theirs.catch(() => undefined); // awaited below
  const mine = changedPages(a, b, 1, mid);
  for (const p of await theirs) mine.add(p);
  return mine;
}
