// Worker thread: compare a range of pages of two databases, for changedPagesInParallel.
import { parentPort, workerData } from 'node:worker_threads';
import { changedPages, openSpec, type SourceSpec } from './changed-pages.js';

const { a, b, first, last } = workerData as { a: SourceSpec; b: SourceSpec; first: number; last: number };
try {
  const sa = openSpec(a);
  const sb = openSpec(b);
  try {
    parentPort!.postMessage({ ok: true, pages: [...changedPages(sa, sb, first, last)] });
  } finally {
    sa.close();
    sb.close();
  }
} catch (err) {
  parentPort!.postMessage({ ok: false, error: (err as Error).message });
}
