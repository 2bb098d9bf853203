// The Engine interface: what every kind of database (SQLite now; PostgreSQL, MariaDB, DuckDB next) implements.
import type { CheckLevel } from '../config.js';

/** What a verified snapshot says about itself; stored in the backup's manifest. */
export interface SnapshotFacts {
  /** Bytes per page and pages in the file (SQLite); undefined for engines without pages. */
  pageSize?: number;
  pageCount?: number;
  /** PRAGMA user_version (SQLite) or a schema version the engine can name. */
  userVersion?: number;
  /** The journal mode the live database used ("wal", "delete", …), restored with the backup. */
  journalMode?: string;
  /** Every user table with its row count (null where it cannot be counted, e.g. a virtual table). */
  tables: Array<{ name: string; rows: number | null }>;
  /** What the integrity check said: "ok", or its first complaints. */
  check: { level: CheckLevel; result: string };
}

export interface EngineCapabilities {
  /** The snapshot is one file that can be hashed and compared page by page with another snapshot. */
  singleFileSnapshot: boolean;
}

/** The live database as it was before a restore, kept where the restore was asked to keep it. */
export interface KeptDatabase {
  /**
   * 'link': the live file itself, hard-linked (no copy): until the swap it is still the live database,
   * and only becomes a backup once the swap has replaced the live path. 'copy': a snapshot, a backup
   * on its own at once.
   */
  how: 'link' | 'copy';
  sha256: string;
  size: number;
  facts: SnapshotFacts;
  /** Whether it passed its integrity check (a damaged database is kept all the same). */
  verified: boolean;
}

/** A restore prepared next to the live database and verified, waiting to be swapped in. */
export interface StagedRestore {
  /** Facts of the staged copy (it verified: sha256 matched and the integrity check passed). */
  readonly facts: SnapshotFacts;
  /** The database as it was, when `keepOldAt` was given and there was one. */
  readonly old?: KeptDatabase;
  /**
   * Put the staged copy in place of the live database atomically and check the result. On any failure
   * the live database is put back as it was before the call, then the error is thrown. Signals that
   * arrive during the swap are held until the database is in a known state. `waitMs`: how long to keep
   * trying when other connections keep the database busy (default 30 s).
   */
  swap(opts?: { waitMs?: number }): Promise<{ method: 'rename' | 'backup-api'; heldBy: string[]; replacedLink?: string }>;
  /** Remove the staged copy without touching the live database. Safe to call twice. */
  discard(): Promise<void>;
}

/**
 * A restore step could not write where it had to: `beside` the live database (the staged copy) or in
 * the `store` (the database as it is now). Says where, so that the message blames the disk or the
 * permissions there, not the backup. `code` is the cause's (ENOSPC, EACCES, SQLITE_BUSY, …).
 */
export class RestorePlaceError extends Error {
  readonly code?: string;
  constructor(
    readonly place: 'beside' | 'store',
    readonly dir: string,
    cause: unknown,
  ) {
    super(cause instanceof Error ? cause.message : String(cause), { cause });
    this.name = 'RestorePlaceError';
    this.code = (cause as { code?: string } | undefined)?.code;
  }
}

export interface Engine {
  readonly kind: 'sqlite';
  /** The configured name ("app"). */
  readonly name: string;
  /**
   * Where the live database is, safe to print and log: a resolved file path, or a URL without its
   * password. Also the identity a backup records, to refuse restoring it onto another database.
   */
  readonly location: string;
  readonly capabilities: EngineCapabilities;

  /** Whether the live database exists now. */
  exists(): Promise<boolean>;

  /** Its size in bytes as it stands (for progress and messages); 0 when it does not exist. */
  size(): Promise<number>;

  /**
   * The lock file that serialises safe-run's guarded runs, backups and restores of this database.
   * `fallbackDir` is used when the engine has no place of its own for it.
   */
  lockFile(fallbackDir: string): Promise<string>;

  /**
   * Write a consistent, self-contained snapshot of the live database to `dest`, a path that does not
   * exist yet, while other processes may keep writing. Leaves nothing beside `dest`. On failure it may
   * leave a partial `dest` (and siblings named `dest-…`) for the caller to remove.
   */
  snapshot(dest: string): Promise<void>;

  /**
   * Remove what a killed safe-run left beside the live database (staged copies, a kept old file), only
   * where its process is gone. Called with the database's lock held. Resolves to the names removed.
   */
  removeLeftovers(): Promise<string[]>;

  /**
   * Open a snapshot file read-only and check it (`quick` or `full`). Resolves to its facts; rejects
   * when it does not open or the check finds anything wrong. Never modifies the file.
   */
  verify(file: string, level: CheckLevel): Promise<SnapshotFacts>;

  /**
   * Copy a backup next to the live database and verify the copy (its sha256 must equal `sha256`,
   * and it must pass the check). Rejects, with the live database untouched, when it does not. With
   * `keepOldAt`, the live database as it is now is also kept at that path (see KeptDatabase), checked
   * side by side with the copy.
   */
  stageRestore(backupFile: string, sha256: string, level: CheckLevel, keepOldAt?: string): Promise<StagedRestore>;

  /**
   * Make the place a restore writes to ready, before it is locked: create directories that are gone,
   * and reject (LinkInPathError) when one of them is now a link that was not there at backup time.
   */
  prepareRestore(): Promise<void>;
}
