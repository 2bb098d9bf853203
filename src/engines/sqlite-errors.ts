// SQLite's error codes as engine-neutral failures with a hint, so the core never reads a SQLITE_* code.
import { describeCause } from '../errors.js';
import { EngineError, type EngineFailure } from './engine-errors.js';

const FAILURES: Record<string, { failure: EngineFailure; hint: string }> = {
  SQLITE_NOTADB: { failure: 'not-a-database', hint: 'check the path, or open it with sqlite3 to see what it is' },
  SQLITE_CORRUPT: { failure: 'check-failed', hint: 'the database itself may be damaged: run PRAGMA integrity_check on it with sqlite3' },
  SQLITE_BUSY: { failure: 'busy', hint: 'another process held a write lock for too long; try again, or give --wait more seconds' },
  SQLITE_LOCKED: { failure: 'busy', hint: 'another process held a write lock for too long; try again, or give --wait more seconds' },
  SQLITE_FULL: { failure: 'no-space', hint: 'free space on the disk of the database and of the backups' },
  SQLITE_CANTOPEN: { failure: 'permission', hint: 'check that the database and its directory can be read' },
};

/**
 * `err` as an EngineError when it is one of SQLite's own (by its code, also SQLITE_BUSY_SNAPSHOT and
 * other extended codes); anything else (file system errors the core explains itself) unchanged.
 */
export function sqliteFailure(err: unknown): unknown {
  const code = (err as { code?: unknown } | undefined)?.code;
  if (err instanceof EngineError || typeof code !== 'string' || !code.startsWith('SQLITE_')) return err;
  const known = FAILURES[code] ?? FAILURES[code.replace(/^(SQLITE_[A-Z]+)_.*$/, '$1')];
  if (!known) return err;
  return new EngineError(known.failure, describeCause(err), { hint: known.hint, cause: err });
}
