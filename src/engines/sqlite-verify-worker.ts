// Worker thread: one part of a verification (the integrity check, or the facts with their row counts),
// so that both run beside the sha256 on the main thread.
import { parentPort, workerData } from 'node:worker_threads';
import { CheckFailedError } from './engine-errors.js';
import { readFacts, runCheck, type VerifyPart } from './sqlite-facts.js';

const { file, level, part } = workerData as { file: string; level: 'quick' | 'full'; part: VerifyPart };
try {
  parentPort!.postMessage({ ok: true, value: part === 'check' ? runCheck(file, level) : readFacts(file) });
} catch (err) {
  const e = err as Error & { code?: string };
  parentPort!.postMessage({
    ok: false,
    error: { message: e.message, code: e.code, checkResult: err instanceof CheckFailedError ? err.result : undefined },
  });
}
