// The Engine interface: what every kind of database implements. The core, the store and the CLI see a
// database only through it; each engine's own modules (SQLite's page format, PostgreSQL's tools) stay
// behind it, and engines are found by URL scheme in ./registry.ts.
import type { CheckLevel } from '../config.js';
import type { DatabaseDiff } from './diff-types.js';
import type { LockHolder } from '../lock/file-lock.js';
import type { Compression } from '../files/compression.js';

/** What a verified snapshot says about itself; stored in the backup's manifest. */
export interface SnapshotFacts {
  /** Bytes per page and pages in the file (SQLite); undefined for engines without pages. */
  pageSize?: number;
  pageCount?: number;
  /** PRAGMA user_version (SQLite) or a schema version the engine can name. */
  userVersion?: number;
  /** The journal mode the live database used ("wal", "delete", …), restored with the backup. */
  journalMode?: string;
  /** How the engine made the backup, when it has more than one way ("clone", "dump"). */
  strategy?: string;
  /** Every user table with its row count (null where it cannot be counted, e.g. a virtual table). */
  tables: Array<{ name: string; rows: number | null }>;
  /**
   * What the integrity check said: "ok", or its first complaints. `on`: what it read (SQLite): the
   * backup file itself ('copy'), or the live database's read snapshot whose bytes the copy provably
   * holds ('snapshot', see SqliteEngine.snapshot); absent in backups taken before this was recorded.
   */
  check: { level: CheckLevel; result: string; on?: 'snapshot' | 'copy' };
}

/** What callers really check before asking for something an engine may not do. */
export interface EngineCapabilities {
  /** The engine answers `diff` itself (SQLite: page by page), so `safe-run diff` works for it. */
  diff: boolean;
  /** A restore may go ahead while other clients keep the database open (SQLite: its backup API). */
  restoreWhileOpen: boolean;
  /** A backup can be a copy kept on the database server, restored by a rename (PostgreSQL's clone). */
  serverSideClone: boolean;
  /**
   * The largest database (bytes) whose diff is cheap enough to print after every run; absent: the CLI's
   * default (sized for SQLite's page-by-page diff). An engine that must read every row sets less.
   */
  compactDiffMaxBytes?: number;

  /**
   * Its files may be stored compressed (`compress` in the config): the core compresses them after they
   * are verified, and the engine's stageRestore decompresses them (files/compression); verify, diff and
   * openExport are given decompressed copies. PostgreSQL's dumps are compressed by its own tool.
   */
  compressFiles: boolean;

  /**
   * Its one file is an array of fixed-size pages (SQLite): a backup after an earlier one may be stored
   * as the pages that changed (store/page-store), and is given back through `assemble` on restore.
   */
  pagedFiles?: boolean;
}

/** A copy of the database that lives on its server rather than in the store (a cloned database). */
export interface ServerCopy {
  /** The copy's name on the server; recognisable (a prefix and the backup id). */
  name: string;
  size?: number;
}

/**
 * Where an engine writes one backup, handed out by the store: a private directory of its own that is
 * listed only once complete. Every file the engine names here is hashed and recorded by the caller.
 */
export interface BackupTarget {
  /** The backup's id: server-side copies are named after it so that leftovers can be told apart. */
  readonly id: string;
  /** The absolute path for a file of this backup called `name` (a plain file name, no directories). */
  file(name: string): string;
}

/** What a snapshot left in its target. */
export interface SnapshotOutput {
  /** The names of the files written through `target.file`, the main one first; never empty. */
  files: string[];
  /**
   * Given when `opts.check` was asked for and the engine did the caller's work itself while writing:
   * the sha256 and size of exactly the bytes of each file (same order as `files`), taken while they were
   * written and fsynced, and the facts of a check that provably read those same bytes. The caller then
   * neither reads the files again nor checks them.
   */
  verified?: { hashes: Array<{ sha256: string; size: number }>; facts: SnapshotFacts };
  /** A copy on the server that belongs to this backup (its files then describe it). */
  serverCopy?: ServerCopy;
}

/** A stored backup as an engine reads it back. */
export interface StoredSnapshot {
  /**
   * Its files with the sha256 each must still have, the main one first. A compressed one (only for an
   * engine with `capabilities.compressFiles`) also has the size and sha256 of its content.
   */
  files: Array<{
    path: string;
    sha256: string;
    size: number;
    compression?: Compression;
    content?: { size: number; sha256: string };
    /**
     * The file is stored as shared pages (a page backup, for an engine with `capabilities.pagedFiles`):
     * `path` is not the file; this writes it to `dest` (which must not exist), fsynced, and resolves
     * once its sha256 matched `sha256` (rejects with a 'checksum' EngineError otherwise).
     */
    assemble?: (dest: string) => Promise<{ sha256: string; size: number }>;
  }>;
  serverCopy?: ServerCopy;
  /** The facts recorded when it was taken (row counts to compare with). */
  facts?: SnapshotFacts;
}

/** The live database as it was before a restore, kept in the restore's own backup target. */
export interface KeptDatabase {
  /**
   * 'link': the live file itself, hard-linked (no copy): until the swap it is still the live database,
   * and only becomes a backup once the swap has replaced the live path. 'copy': a snapshot, a backup on
   * its own at once. 'rename': the live database is renamed aside on its server by the swap itself.
   */
  how: 'link' | 'copy' | 'rename';
  output: SnapshotOutput;
  /** sha256 and size of each of `output.files`, in the same order. */
  hashes: Array<{ sha256: string; size: number }>;
  facts: SnapshotFacts;
  /** Whether it passed its integrity check (a damaged database is kept all the same). */
  verified: boolean;
}

/** A restore prepared beside the live database and verified, waiting to be swapped in. */
export interface StagedRestore {
  /** Facts of the staged copy (it verified: its checksums matched and the check passed). */
  readonly facts: SnapshotFacts;
  /** The database as it was, when a target to keep it in was given and there was one. */
  readonly old?: KeptDatabase;
  /**
   * Put the staged copy in place of the live database atomically and check the result. On any failure
   * the live database is put back as it was before the call, then the error is thrown. Signals that
   * arrive during the swap are held until the database is in a known state. `waitMs`: how long to keep
   * trying when other connections keep the database busy (default 30 s). `force`: an engine that cannot
   * swap under connected clients shuts them out instead of refusing (and lets them back in afterwards).
   */
  swap(opts?: { waitMs?: number; force?: boolean }): Promise<{ method: string; heldBy: string[]; replacedLink?: string }>;
  /** Remove the staged copy without touching the live database. Safe to call twice. */
  discard(): Promise<void>;
}

/** One table of a snapshot opened for export: its columns, and its rows streamed in table order. */
export interface ExportTable {
  name: string;
  /** Column names and declared types ("" when none), in the table's order. */
  columns: Array<{ name: string; type: string }>;
  /**
   * The rows one at a time, each value as the engine holds it: null, string, number, bigint (integers,
   * exact beyond 2^53) or Buffer (binary). Never all in memory at once: exports run on large databases.
   */
  rows(): Iterable<unknown[]>;
}

/** A stored snapshot opened read-only for export. `close` releases it; safe to call twice. */
export interface SnapshotExport {
  /** The statements that recreate the schema (tables, indexes, views, triggers), in order. */
  schema: string[];
  tables: ExportTable[];
  close(): Promise<void>;
}

/** The lock one safe-run holds on a database for the length of an operation. */
export interface EngineLock {
  release(): Promise<void>;
}

export interface EngineLockOptions {
  /** What the holder is doing, shown to whoever waits. */
  purpose: string;
  /** How long to wait for another holder, in ms; 0 fails at once. */
  waitMs: number;
  onWait?: (holder: LockHolder | undefined) => void;
}

/** What doctor found when it checked a live database where it is. */
export interface LiveCheck {
  /** ok: it checks out; damaged: it is corrupt; missing: there is no database there. */
  state: 'ok' | 'damaged' | 'missing';
  /** What is wrong, one line each, for a person. */
  problems: string[];
}

/** One side of a diff: a stored backup of this database, or the live database as it is now. */
export type DiffSide = { label: string } & ({ snapshot: StoredSnapshot } | { live: true });

export interface DiffOptions {
  /** Changed rows to keep per table (0: counts only). */
  rows?: number;
}

export interface SnapshotOptions {
  /** How long to wait for a writer that holds the database, in ms (default 30 000; 0: not at all). */
  waitMs?: number;
  /** Called once when the snapshot has to wait for a writer, with how long it will wait at most. */
  onBusy?: (waitMs: number) => void;
  /** The check the caller will make: an engine may make it (and hash) while it writes (see SnapshotOutput.verified). */
  check?: CheckLevel;
  /**
   * Called with each chunk of the main file, in order (`offset` its place), when the engine writes the
   * file's final bytes as it reads them; never when it rewrites the file afterwards (SQLite folding a
   * -wal). The page store hashes pages here instead of reading the file again. The buffer is reused.
   */
  onChunk?: (chunk: Buffer, offset: number) => void;
  /**
   * false: the caller will replace the files (the page store keeps only the new pages) and fsyncs what it
   * keeps, so the engine need not fsync them (default true).
   */
  durable?: boolean;
}

export interface Engine {
  /** Which engine this is ("sqlite", "postgres", …); recorded in every manifest, which reopens it. */
  readonly kind: string;
  /** The configured name ("app"). */
  readonly name: string;
  /**
   * Where the live database is, safe to print and log: a resolved file path, or a URL without its
   * password. Also the identity a backup records, to refuse restoring it onto another database.
   */
  readonly location: string;
  readonly capabilities: EngineCapabilities;

  /** What to say when the database is not there: what is missing ("database file"), and where to look. */
  readonly missing: { what: string; hint: string };

  /** Whether the live database exists now. */
  exists(): Promise<boolean>;

  /** Its size in bytes as it stands (for progress and messages); 0 when it does not exist. */
  size(): Promise<number>;

  /**
   * The key locks are taken in order of, so that two operations on several databases never deadlock.
   * Two engines with the same key are the same database.
   */
  readonly lockKey: string;

  /**
   * The lock file that serialises safe-run's guarded runs, backups and restores of this database, for
   * engines whose lock is a file: one per database, the same whatever the config or the store. A
   * guarded run has it held by a lock keeper process until its command ends, even if safe-run is killed.
   * Rejects with a SafeRunError('locked') saying why when there can be none. An engine has this or `lock`.
   */
  lockFile?(): Promise<string>;

  /**
   * Take the lock for engines whose lock is not a file (a server: held on the server itself, so that
   * every machine sees it). Rejects with a SafeRunError('locked') naming the holder after `waitMs`. The
   * lock dies with its holder's connection.
   */
  lock?(opts: EngineLockOptions): Promise<EngineLock>;

  /**
   * Write a consistent, self-contained snapshot of the live database into `target`, while other clients
   * may keep writing (a writer holding the database is waited for up to `opts.waitMs`). On failure it may
   * leave partial files in the target (the caller removes the whole target) but must remove any
   * server-side copy it started.
   */
  snapshot(target: BackupTarget, opts?: SnapshotOptions): Promise<SnapshotOutput>;

  /**
   * Open a snapshot (its files and server copy, as written by `snapshot`) read-only and check it at
   * `level`. Resolves to its facts; rejects (CheckFailedError, EngineError) when it does not open or
   * the check finds anything wrong. Never modifies it. Checksums are the caller's business.
   */
  verify(snapshot: { files: string[]; serverCopy?: ServerCopy }, level: CheckLevel): Promise<SnapshotFacts>;

  /**
   * Prepare `snapshot` for a restore beside the live database and verify what was prepared (every
   * file's sha256 must match, and the check must pass). Rejects, with the live database untouched, when
   * it does not. With `keepOld`, the live database as it is now is also kept there (see KeptDatabase),
   * waiting up to `opts.waitMs` for a writer that holds it.
   */
  stageRestore(snapshot: StoredSnapshot, level: CheckLevel, keepOld?: BackupTarget, opts?: { waitMs?: number }): Promise<StagedRestore>;

  /**
   * Remove what a killed safe-run left beside the live database (staged copies, a kept old file,
   * server-side copies of unfinished backups). Called only with the database's lock held, which every
   * writer of these holds: all of it is abandoned. Resolves to the names removed.
   */
  removeLeftovers(): Promise<string[]>;

  /**
   * What changed between two states of this database: schema, and per table the rows inserted, deleted
   * and updated. Present when `capabilities.diff` is true. Never modifies either side.
   */
  /**
   * Make the place a restore writes to ready, before it is locked: create directories that are gone,
   * and reject (LinkInPathError) when one of them is now a link that was not there at backup time.
   */
  prepareRestore(): Promise<void>;

  diff?(before: DiffSide, after: DiffSide, opts?: DiffOptions): Promise<DatabaseDiff>;

  /**
   * Open a stored snapshot read-only to export its tables (`safe-run export`). Its files' checksums are
   * the caller's business, checked before. Absent for an engine that cannot export yet.
   */
  openExport?(snapshot: StoredSnapshot): Promise<SnapshotExport>;

  /**
   * Drop a server-side copy that belonged to a backup being removed (retention). Present when
   * `capabilities.serverSideClone` is true; SQLite keeps no copy anywhere but the store and has none.
   * Called with the database's lock held, after the backup has left the store's listing and before its
   * files are deleted. Resolves when the copy is gone, also when it was already gone (a second call, or
   * a crash after the drop, must not fail); rejects when the server refused, and then the caller puts
   * the backup back in the listing, whole.
   */
  dropServerCopy?(copy: ServerCopy): Promise<void>;

  /**
   * Check the live database where it is, for doctor, without changing its data (SQLite: header, -wal
   * and -shm read as bytes, then integrity_check read-only; a server: a connection and a catalog
   * query). Absent for an engine that cannot yet: doctor then says it did not check it.
   */
  checkLive?(): Promise<LiveCheck>;

  /**
   * Move the damaged live database and the files that belong with it into `dir` (in the store), never
   * deleting anything; resolves to the paths written. Rejects (EngineError 'held-open') while other
   * processes have it open. Called with the database's lock held. `putBack` undoes it.
   */
  setAside?(dir: string): Promise<{ moved: string[]; putBack(): Promise<void> }>;
}
