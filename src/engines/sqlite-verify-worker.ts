// Worker thread: runs the integrity check off the main thread, so sha256 and the check overlap.
import { parentPort, workerData } from 'node:worker_threads';
import { checkAndReadFacts, CheckFailedError } from './sqlite-facts.js';

const { file, level } = workerData as { file: string; level: 'quick' | 'full' };
try {
  parentPort!.postMessage({ ok: true, facts: checkAndReadFacts(file, level) });
} catch (err) {
  const e = err as Error & { code?: string };
  parentPort!.postMessage({
    ok: false,
    error: { message: e.message, code: e.code, checkResult: err instanceof CheckFailedError ? err.result : undefined },
  });
}
