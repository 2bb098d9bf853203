// Cross-process locks that the kernel releases when their holder dies, with a note of who holds them.
//
// A lock is a tiny SQLite file held in an EXCLUSIVE transaction. SQLite takes an fcntl lock on it, which
// the kernel drops the moment the process exits, however it exits (kill -9 included). So a lock whose
// process is dead is free again at once, without stale-lock heuristics: no pid checks racing with pid
// reuse, no mtime refresh timer for a lock held through a multi-hour command (proper-lockfile judges
// staleness by mtime, which would let a second run take over from a live run that is merely suspended).
// Beside it, `<lock>.json` names the holder (pid, host, start time, purpose) for the message a waiting
// run prints; it is informative only and may be stale, the kernel lock is the truth.
import Database from 'better-sqlite3';
import { promises as fs, readFileSync } from 'node:fs';
import os from 'node:os';
import { FILE_MODE, writeFileAtomic } from '../files/durable.js';
import { withUriFilenames } from '../files/sqlite-uri.js';

export interface LockHolder {
  pid: number;
  host: string;
  startedAt: string;
  purpose: string;
}

export interface Lock {
  readonly file: string;
  release(): Promise<void>;
}

export interface AcquireOptions {
  /** What the holder is doing, shown to whoever waits ("guarded run of node migrate.js"). */
  purpose: string;
  /** How long to wait for a busy lock, in ms; 0 fails at once. */
  waitMs: number;
  /** Called once when the lock is busy and we start waiting (not when waitMs is 0). */
  onWait?: (holder: LockHolder | undefined) => void;
  /** How often to try again while waiting. */
  pollMs?: number;
  /** The pid the note names: the safe-run the lock is held for, when a keeper process holds it (default: this one). */
  owner?: number;
  /** Write the `<lock>.json` note (default true). */
  note?: boolean;
}

export class LockBusyError extends Error {
  constructor(
    readonly file: string,
    readonly holder: LockHolder | undefined,
    readonly waitedMs: number,
  ) {
    super(`lock ${file} is held${holder ? ` by pid ${holder.pid} on ${holder.host}` : ''}`);
    this.name = 'LockBusyError';
  }
}

function readHolder(file: string): LockHolder | undefined {
  try {
    return JSON.parse(readFileSync(`${file}.json`, 'utf8')) as LockHolder;
  } catch {
    return undefined;
  }
}

/** Replace the note of a lock this process holds (best effort). */
export async function writeNote(file: string, holder: LockHolder): Promise<void> {
  await writeFileAtomic(`${file}.json`, JSON.stringify(holder) + '\n', { durable: false }).catch(() => undefined);
}

/**
 * Whether some process holds the lock at `file` now: true, false, or undefined when there is no such
 * file. Works across PID namespaces (containers sharing a directory): the kernel knows the holder.
 */
export function isLockHeld(file: string): boolean | undefined {
  let db: Database.Database | undefined;
  try {
    db = tryLock(file, true);
  } catch (err) {
    if ((err as { code?: string }).code === 'SQLITE_CANTOPEN') return undefined;
    throw err;
  }
  if (!db) return true;
  db.close();
  return false;
}

function tryLock(file: string, mustExist = false): Database.Database | undefined {
  // Often the process's first database: it loads better-sqlite3's addon (see files/sqlite-uri.ts).
  const db = withUriFilenames(() => new Database(file, { timeout: 0, fileMustExist: mustExist }));
  try {
    // Nothing is ever written to a lock file, so it needs no journal on disk: with the journal in
    // memory, a lock beside a database in a directory we may not write works (SQLite refuses an
    // on-disk journal there), and a holder that dies leaves no -journal behind.
    db.pragma('journal_mode = MEMORY');
    db.exec('BEGIN EXCLUSIVE');
    return db;
  } catch (err) {
    db.close();
    if ((err as { code?: string }).code === 'SQLITE_BUSY') return undefined;
    throw err;
  }
}

export async function acquireLock(file: string, opts: AcquireOptions): Promise<Lock> {
  const started = Date.now();
  const pollMs = opts.pollMs ?? 100;
  let announced = false;
  for (;;) {
    const db = tryLock(file);
    if (db) {
      await fs.chmod(file, FILE_MODE).catch(() => undefined);
      const holder: LockHolder = {
        pid: opts.owner ?? process.pid,
        host: os.hostname(),
        startedAt: new Date().toISOString(),
        purpose: opts.purpose,
      };
      const note = opts.note ?? true;
      // The note is only informative: a lock file that exists in a directory we may not write still locks.
      if (note) await writeNote(file, holder);
      let released = false;
      return {
        file,
        async release() {
          if (released) return;
          released = true;
          // Remove the note first: once the kernel lock is gone, someone else may write theirs.
          if (note) await fs.rm(`${file}.json`, { force: true }).catch(() => undefined);
          db.close(); // closing ends the transaction and drops the fcntl lock
        },
      };
    }
    const waited = Date.now() - started;
    if (waited >= opts.waitMs) throw new LockBusyError(file, readHolder(file), waited);
    if (!announced) {
      announced = true;
      opts.onWait?.(readHolder(file));
    }
    await new Promise((r) => setTimeout(r, Math.min(pollMs, opts.waitMs - waited)));
  }
}
