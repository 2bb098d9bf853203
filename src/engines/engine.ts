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
  swap(opts?: { waitMs?: number }): Promise<{ method: 'rename' | 'backup-api'; heldBy: string[] }>;
  /** Remove the staged copy without touching the live database. Safe to call twice. */
  discard(): Promise<void>;
}

export interface SnapshotOptions {
  /** How long to wait for a writer that holds the database, in ms (default 30 000; 0: not at all). */
  waitMs?: number;
  /** Called once when the snapshot has to wait for a writer, with how long it will wait at most. */
  onBusy?: (waitMs: number) => void;
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
   * The lock file that serialises safe-run's guarded runs, backups and restores of this database: one
   * per database, the same whatever the config or the store. Rejects with a SafeRunError('locked')
   * saying why when there can be none (no writable place beside the database).
   */
  lockFile(): Promise<string>;

  /**
   * Write a consistent, self-contained snapshot of the live database to `dest`, a path that does not
   * exist yet, while other processes may keep writing. Leaves nothing beside `dest`. On failure it may
   * leave a partial `dest` (and siblings named `dest-…`) for the caller to remove. A writer holding the
   * database is waited for up to `opts.waitMs`.
   */
  snapshot(dest: string, opts?: SnapshotOptions): Promise<void>;

  /**
   * Remove what a killed safe-run left beside the live database (staged copies, a kept old file).
   * Called only with the database's lock held, which every writer of these holds: all of it is
   * abandoned. Resolves to the names removed.
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
}
