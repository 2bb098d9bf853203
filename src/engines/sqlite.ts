// The SQLite engine: consistent snapshots under live writers, verification, and a safe swap on restore.
import Database from 'better-sqlite3';
import { promises as fs, constants as fsc, statSync } from 'node:fs';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { builtFile } from '../files/built-file.js';
import type { CheckLevel } from '../config.js';
import { fsyncPath } from '../files/durable.js';
import { lockFileBeside, removeLeftoversBeside } from './beside-database.js';
import type { DatabaseDiff } from './diff-types.js';
import type { BackupTarget, DiffOptions, DiffSide, Engine, LiveCheck, ServerCopy, SnapshotExport, SnapshotFacts, SnapshotOptions, SnapshotOutput, StagedRestore, StoredSnapshot } from './engine.js';
import { CheckFailedError } from './engine-errors.js';
import { sqliteFailure } from './sqlite-errors.js';
import { CHECK_HINT, checkAndReadFacts, type VerifyPart } from './sqlite-facts.js';
import { stageSqliteRestore } from './sqlite-restore.js';
import { prepareRestoreDir } from './sqlite-target.js';
import { checkSqliteLive } from './sqlite-live-check.js';
import { putSqliteBack, setSqliteAside } from './sqlite-set-aside.js';

/** The one file of a SQLite backup. */
export const SNAPSHOT_FILE = 'snapshot.sqlite';

/** Below this size the check runs on the main thread: a worker's start-up would cost more than it saves. */
const WORKER_THRESHOLD = 32 * 1024 * 1024;

const SIDE_FILES = ['-wal', '-shm', '-journal'] as const;

export class SqliteEngine implements Engine {
  readonly kind = 'sqlite';
  readonly capabilities = { diff: true, restoreWhileOpen: true, serverSideClone: false, compressFiles: true, pagedFiles: true };
  readonly missing = { what: 'database file', hint: 'check the path in the config or --db; safe-run never creates a database' };

  constructor(
    readonly name: string,
    /** Absolute path of the live database file (symlinks resolved where it exists). */
    readonly location: string,
  ) {}

  static async open(name: string, file: string): Promise<SqliteEngine> {
    return new SqliteEngine(name, await canonicalPath(file));
  }

  /**
   * The engine for the path a backup recorded, taken as it is: it was resolved when the backup was
   * taken, so resolving it again would follow a link made since (by the script, say) to another database.
   */
  static atRecordedPath(name: string, source: string): SqliteEngine {
    return new SqliteEngine(name, path.resolve(source));
  }

  async prepareRestore(): Promise<void> {
    await prepareRestoreDir(this.location);
  }

  async exists(): Promise<boolean> {
    try {
      // lstat: a link planted at a recorded path is not this database (see atRecordedPath).
      return (await fs.lstat(this.location)).isFile();
    } catch {
      return false;
    }
  }

  async size(): Promise<number> {
    const main = await fs.stat(this.location).catch(() => undefined);
    const wal = await fs.stat(`${this.location}-wal`).catch(() => undefined);
    return (main?.size ?? 0) + (wal?.size ?? 0);
  }

  get lockKey(): string {
    return this.location;
  }

  async lockFile(): Promise<string> {
    return lockFileBeside(this.name, this.location);
  }

  /**
   * Copy the file and its -wal inside one read transaction, then fold the copied WAL into the copy.
   *
   * Why this is consistent: the open read transaction pins a snapshot. In WAL mode no checkpoint can
   * backfill past it and the WAL cannot be reset while it is held, so every page of the main file that
   * changes during the copy is also in the WAL, copied after it; replaying that WAL (the checkpoint of
   * the copy) overwrites any torn page with its committed version and stops at the last commit whose
   * frames are whole (a half-written frame fails its checksum). In rollback-journal mode the shared
   * lock keeps writers from changing the file at all. Copying with copyFile is several times faster
   * than the backup API (../shared/FIELD-NOTES.md), and it never restarts under a busy writer.
   */
  async snapshot(target: BackupTarget, opts: SnapshotOptions = {}): Promise<SnapshotOutput> {
    await this.snapshotTo(target.file(SNAPSHOT_FILE), opts).catch((err) => {
      throw sqliteFailure(err);
    });
    return { files: [SNAPSHOT_FILE] };
  }

  /** The snapshot itself, into `dest` (a path that does not exist yet); also keeps the old database on a restore. */
  async snapshotTo(dest: string, opts: SnapshotOptions = {}): Promise<void> {
    // SQLite says only "unable to open the database file" for a file we may not read: ask first.
    await fs.access(this.location, fsc.R_OK);
    const src = openLive(this.location);
    let walCopied = false;
    try {
      await beginRead(src, opts);
      await fs.copyFile(this.location, dest);
      const walSize = await fs.stat(`${this.location}-wal`).then((s) => s.size).catch(() => 0);
      if (walSize > 0) {
        await fs.copyFile(`${this.location}-wal`, `${dest}-wal`);
        walCopied = true;
      }
    } finally {
      if (src.inTransaction) src.exec('COMMIT');
      src.close();
    }
    await fs.chmod(dest, 0o600);
    // Fold the WAL in and leave a self-contained rollback-journal file: nothing is needed beside it.
    const copy = new Database(dest, { fileMustExist: true });
    try {
      if (walCopied || copy.pragma('journal_mode', { simple: true }) === 'wal') {
        copy.pragma('wal_checkpoint(TRUNCATE)');
        copy.pragma('journal_mode = DELETE');
      }
    } finally {
      copy.close();
    }
    for (const suffix of SIDE_FILES) await fs.rm(`${dest}${suffix}`, { force: true });
    await fsyncPath(dest);
  }

  async removeLeftovers(): Promise<string[]> {
    return removeLeftoversBeside(this.location, SIDE_FILES);
  }

  async verify(snapshot: { files: string[]; serverCopy?: ServerCopy }, level: CheckLevel): Promise<SnapshotFacts> {
    return this.verifyFile(snapshot.files[0]!, level).catch((err) => {
      throw sqliteFailure(err);
    });
  }

  async verifyFile(file: string, level: CheckLevel): Promise<SnapshotFacts> {
    const { size } = await fs.stat(file);
    const facts = size < WORKER_THRESHOLD ? checkAndReadFacts(file, level) : await verifyInWorkers(file, level);
    return facts;
  }

  /** The page-level diff (./sqlite/diff), loaded only when asked for. */
  async diff(before: DiffSide, after: DiffSide, opts: DiffOptions = {}): Promise<DatabaseDiff> {
    const { diffDatabase } = await import('./sqlite/diff/diff-database.js');
    const endpoint = (side: DiffSide) =>
      'live' in side
        ? { file: this.location, live: true, label: side.label }
        : { file: side.snapshot.files[0]!.path, live: false, label: side.label, facts: side.snapshot.facts };
    const [b, a] = [endpoint(before), endpoint(after)];
    // undefined leaves the choice to the diff (SAFE_RUN_DIFF_PLAIN=1 forces the plain SQL path for tests).
    return diffDatabase(this.name, b, a, { rows: opts.rows, pageLevel: pageLevelWorks(b.file, a.file) ? undefined : false });
  }

  /** The export's reader (./sqlite/export-tables), loaded only when asked for. */
  async openExport(snapshot: StoredSnapshot): Promise<SnapshotExport> {
    const { openSqliteExport } = await import('./sqlite/export-tables.js');
    return openSqliteExport(snapshot.files[0]!.path);
  }

  async checkLive(): Promise<LiveCheck> {
    return checkSqliteLive(this.location);
  }

  async setAside(dir: string): Promise<{ moved: string[]; putBack(): Promise<void> }> {
    const moved = await setSqliteAside(this.location, dir);
    return { moved, putBack: () => putSqliteBack(this.location, moved) };
  }

  async stageRestore(snapshot: StoredSnapshot, level: CheckLevel, keepOld?: BackupTarget, opts: { waitMs?: number } = {}): Promise<StagedRestore> {
    const main = snapshot.files[0]!;
    // A compressed file is decompressed straight into the staged copy, whose sha256 must then be the
    // content's; the stored bytes are checked against theirs first.
    return stageSqliteRestore(this, {
      backupFile: main.path,
      sha256: main.content?.sha256 ?? main.sha256,
      ...(main.compression ? { compression: main.compression, storedSha256: main.sha256 } : {}),
      ...(main.assemble ? { assemble: main.assemble } : {}),
      level,
      keepOldAt: keepOld?.file(SNAPSHOT_FILE),
      waitMs: opts.waitMs,
    });
  }
}


/**
 * A 0-byte file is a valid empty database to SQLite, but it has no header to compare pages by: then
 * every row is compared instead (there are none on that side, so it costs nothing).
 */
function pageLevelWorks(...files: string[]): boolean {
  return files.every((f) => (statSync(f, { throwIfNoEntry: false })?.size ?? 1) > 0);
}

/** A connection to the live database that never creates it; waiting for a busy writer is beginRead's. */
function openLive(file: string): Database.Database {
  return new Database(file, { fileMustExist: true, timeout: 0 });
}

/** How often to try again for the read lock while a writer holds the database. */
const BUSY_POLL_MS = 50;

/**
 * Start the read transaction that pins the snapshot. A writer may hold the database (an EXCLUSIVE
 * transaction in rollback-journal mode): then try again every 50 ms for up to `waitMs`, saying once
 * that we wait. Polling here rather than SQLite's busy timeout keeps the event loop free (signals,
 * the ticker) and lets the wait follow --wait instead of a fixed 10 s.
 */
async function beginRead(db: Database.Database, opts: SnapshotOptions): Promise<void> {
  const waitMs = opts.waitMs ?? 30_000;
  const started = Date.now();
  let announced = false;
  for (;;) {
    try {
      db.exec('BEGIN');
      db.prepare('SELECT count(*) FROM sqlite_schema').pluck().get(); // takes the read lock now
      return;
    } catch (err) {
      if (db.inTransaction) db.exec('ROLLBACK');
      if ((err as { code?: string }).code !== 'SQLITE_BUSY' || Date.now() - started >= waitMs) throw err;
      if (!announced) {
        announced = true;
        opts.onBusy?.(waitMs);
      }
      await new Promise((r) => setTimeout(r, Math.min(BUSY_POLL_MS, Math.max(1, waitMs - (Date.now() - started)))));
    }
  }
}

/** The path with its directory's symlinks resolved; the file itself may not exist (yet). */
async function canonicalPath(file: string): Promise<string> {
  const abs = path.resolve(file);
  try {
    return await fs.realpath(abs);
  } catch {
    const dir = await fs.realpath(path.dirname(abs)).catch(() => path.dirname(abs));
    return path.join(dir, path.basename(abs));
  }
}

/**
 * The check and the facts (row counts scan every table) in two worker threads, so that with the sha256
 * on the main thread all three overlap. A failed check wins over an error reading the facts.
 */
async function verifyInWorkers(file: string, level: CheckLevel): Promise<SnapshotFacts> {
  const [check, facts] = await Promise.allSettled([inWorker<string>(file, level, 'check'), inWorker<Omit<SnapshotFacts, 'check'>>(file, level, 'facts')]);
  if (check.status === 'rejected') throw check.reason;
  if (facts.status === 'rejected') throw facts.reason;
  return { ...facts.value, check: { level, result: check.value } };
}

function inWorker<T>(file: string, level: CheckLevel, part: VerifyPart): Promise<T> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(builtFile('engines/sqlite-verify-worker.js', import.meta.url), { workerData: { file, level, part } });
    let answered = false;
    worker.once('message', (msg: { ok: boolean; value?: T; error?: { message: string; code?: string; checkResult?: string } }) => {
      answered = true;
      if (msg.ok) resolve(msg.value as T);
      else if (msg.error?.checkResult !== undefined) reject(new CheckFailedError(msg.error.checkResult, CHECK_HINT));
      else reject(Object.assign(new Error(msg.error?.message ?? 'verify failed'), { code: msg.error?.code }));
    });
    worker.once('error', reject);
    worker.once('exit', (code) => {
      if (!answered) reject(new Error(`verify worker exited with code ${code} without an answer`));
    });
  });
}
