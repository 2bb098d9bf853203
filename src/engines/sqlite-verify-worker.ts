// Worker thread: one part of a verification (the integrity check, or the facts with their row counts),
// so that both run beside the sha256 or the copy on the main thread. With `live`, it reads the live
// database and says how once it has begun (see onLiveSnapshot and sqlite-snapshot.ts).
import Database from 'better-sqlite3';
import { parentPort, workerData } from 'node:worker_threads';
import { CheckFailedError } from './engine-errors.js';
import { readFacts, readFactsOn, runCheck, runCheckOn, type VerifyPart } from './sqlite-facts.js';
import { immutableUri } from '../files/sqlite-uri.js';

const { file, level, part, live } = workerData as { file: string; level: 'quick' | 'full'; part: VerifyPart; live?: boolean };

/**
 * The live file as it is on disk (immutable: no locks, no -wal), which the caller keeps from changing
 * while we read it; or, when this process cannot open URIs, a read transaction of our own, whose
 * snapshot the caller then proves to be its own.
 */
function onLiveSnapshot(): void {
  let db: Database.Database | undefined;
  try {
    db = new Database(immutableUri(file), { readonly: true, fileMustExist: true });
    db.prepare('SELECT count(*) FROM sqlite_schema').pluck().get();
  } catch {
    db?.close();
    db = undefined;
  }
  const immutable = db !== undefined;
  db ??= new Database(file, { readonly: true, fileMustExist: true, timeout: 0 });
  try {
    if (!immutable) {
      try {
        db.exec('BEGIN');
        db.prepare('SELECT count(*) FROM sqlite_schema').pluck().get(); // takes the read lock now
      } catch (err) {
        // A writer about to commit (rollback-journal mode) refuses new readers: the caller checks its copy instead.
        if (String((err as { code?: string }).code).startsWith('SQLITE_BUSY')) return void parentPort!.postMessage({ began: false });
        throw err;
      }
    }
    parentPort!.postMessage({ began: true, immutable });
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
