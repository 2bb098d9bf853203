// Worker thread: one part of a verification (the integrity check, or the facts with their row counts),
// so that both run beside the sha256 or the copy on the main thread. With `live`, it reads the live
// database inside a read transaction of its own and says when that transaction has begun (the caller
// proves that this snapshot holds the bytes it copied; see sqlite-snapshot.ts).
import Database from 'better-sqlite3';
import { parentPort, workerData } from 'node:worker_threads';
import { CheckFailedError } from './engine-errors.js';
import { readFacts, readFactsOn, runCheck, runCheckOn, type VerifyPart } from './sqlite-facts.js';

const { file, level, part, live } = workerData as { file: string; level: 'quick' | 'full'; part: VerifyPart; live?: boolean };

function onLiveSnapshot(): void {
  const db = new Database(file, { readonly: true, fileMustExist: true, timeout: 0 });
  try {
    try {
      db.exec('BEGIN');
      db.prepare('SELECT count(*) FROM sqlite_schema').pluck().get(); // takes the read lock now
    } catch (err) {
      // A writer about to commit (rollback-journal mode) refuses new readers: the caller checks its copy instead.
      if (String((err as { code?: string }).code).startsWith('SQLITE_BUSY')) return void parentPort!.postMessage({ began: false });
      throw err;
    }
    parentPort!.postMessage({ began: true });
    parentPort!.postMessage({ ok: true, value: part === 'check' ? runCheckOn(db, level) : readFactsOn(db) });
  } finally {
    db.close();
  }
}

try {
  if (live) onLiveSnapshot();
  else parentPort!.postMessage({ ok: true, value: part === 'check' ? runCheck(file, level) : readFacts(file) });
} catch (err) {
  const e = err as Error & { code?: string };
  parentPort!.postMessage({
    ok: false,
    error: { message: e.message, code: e.code, checkResult: err instanceof CheckFailedError ? err.result : undefined },
  });
}
