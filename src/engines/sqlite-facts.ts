// Read a SQLite snapshot's facts and run its integrity check (used inline and from the verify worker).
import Database from 'better-sqlite3';
import type { CheckLevel } from '../config.js';
import type { SnapshotFacts } from './engine.js';
import { CheckFailedError } from './engine-errors.js';


export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** Tables a user would count: not SQLite's own, not virtual ones' shadows. */
export function userTables(db: Database.Database): Array<{ name: string; virtual: boolean }> {
  const rows = db
    .prepare("SELECT name, sql FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name")
    .all() as Array<{ name: string; sql: string | null }>;
  return rows.map((r) => ({ name: r.name, virtual: /^\s*CREATE\s+VIRTUAL\s/i.test(r.sql ?? '') }));
}

/** What to do when a SQLite file fails its check. */
export const CHECK_HINT = 'the database itself may be damaged: run PRAGMA integrity_check on it with sqlite3';

export type VerifyPart = 'check' | 'facts';

/** Open `file` read-only: a snapshot of ours is in rollback-journal mode, nothing beside it is needed. */
function openSnapshot(file: string): Database.Database {
  return new Database(file, { readonly: true, fileMustExist: true });
}

/** The integrity check ("ok"); anything else throws CheckFailedError with SQLite's complaints. */
export function runCheck(file: string, level: CheckLevel): string {
  const db = openSnapshot(file);
  try {
    return runCheckOn(db, level);
  } finally {
    db.close();
  }
}

/** The check on an open connection (inside its read transaction, when the caller holds one). */
export function runCheckOn(db: Database.Database, level: CheckLevel): string {
  const pragma = level === 'full' ? 'integrity_check' : 'quick_check';
  const result = (db.prepare(`PRAGMA ${pragma}(20)`).pluck().all() as string[]).join('; ');
  if (result !== 'ok') throw new CheckFailedError(result, CHECK_HINT);
  return result;
}

/** Page size and count, user_version, and every user table with its row count. */
export function readFacts(file: string): Omit<SnapshotFacts, 'check'> {
  const db = openSnapshot(file);
  try {
    return readFactsOn(db);
  } finally {
    db.close();
  }
}

/** The facts from an open connection (inside its read transaction, when the caller holds one). */
export function readFactsOn(db: Database.Database): Omit<SnapshotFacts, 'check'> {
  return {
    pageSize: db.pragma('page_size', { simple: true }) as number,
    pageCount: db.pragma('page_count', { simple: true }) as number,
    userVersion: db.pragma('user_version', { simple: true }) as number,
    tables: userTables(db).map((t) => ({
      name: t.name,
      rows: t.virtual ? null : (db.prepare(`SELECT count(*) FROM ${quoteIdent(t.name)}`).pluck().get() as number),
    })),
  };
}

/** Both, one after the other (for small files, where threads cost more than they save). */
export function checkAndReadFacts(file: string, level: CheckLevel): SnapshotFacts {
  const result = runCheck(file, level);
  return { ...readFacts(file), check: { level, result, on: 'copy' } };
}
