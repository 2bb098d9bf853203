// The SQLite engine: consistent snapshots under live writers, verification, and a safe swap on restore.
import { promises as fs, statSync } from 'node:fs';
import path from 'node:path';
import type { CheckLevel } from '../config.js';
import { lockFileBeside, removeLeftoversBeside } from './beside-database.js';
import type { DatabaseDiff } from './diff-types.js';
import type { BackupTarget, DiffOptions, DiffSide, Engine, LiveCheck, ServerCopy, SnapshotExport, SnapshotFacts, SnapshotOptions, SnapshotOutput, StagedRestore, StoredSnapshot } from './engine.js';
import { sqliteFailure } from './sqlite-errors.js';
import { stageSqliteRestore } from './sqlite-restore.js';
import { prepareRestoreDir } from './sqlite-target.js';
import { checkSqliteLive } from './sqlite-live-check.js';
import { checkCopy, takeSnapshot, type TakenSnapshot } from './sqlite-snapshot.js';
import { putSqliteBack, setSqliteAside } from './sqlite-set-aside.js';

/** The one file of a SQLite backup. */
export const SNAPSHOT_FILE = 'snapshot.sqlite';

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
   * A consistent, self-contained copy, read once (./sqlite-snapshot.ts says why it is consistent). With
   * `opts.check`, the copy is hashed as it is written and checked, on the live read snapshot when that
   * provably holds the copied bytes, else on the copy: the caller gets both in `verified`.
   */
  async snapshot(target: BackupTarget, opts: SnapshotOptions = {}): Promise<SnapshotOutput> {
    const taken = await takeSnapshot(this.location, target.file(SNAPSHOT_FILE), opts).catch((err) => {
      throw sqliteFailure(err);
    });
    const verified = taken.facts ? { hashes: [{ sha256: taken.sha256, size: taken.size }], facts: taken.facts } : undefined;
    return { files: [SNAPSHOT_FILE], ...(verified ? { verified } : {}) };
  }

  /** The snapshot itself, into `dest` (a path that does not exist yet); also keeps the old database on a restore. */
  async snapshotTo(dest: string, opts: SnapshotOptions = {}): Promise<TakenSnapshot> {
    return takeSnapshot(this.location, dest, opts);
  }

  async removeLeftovers(): Promise<string[]> {
    return removeLeftoversBeside(this.location, SIDE_FILES);
  }

  async verify(snapshot: { files: string[]; serverCopy?: ServerCopy }, level: CheckLevel): Promise<SnapshotFacts> {
    return this.verifyFile(snapshot.files[0]!, level).catch((err) => {
      throw sqliteFailure(err);
    });
  }

  /** The check of a backup file; with `recorded` facts of the same bytes, only the integrity check (see checkCopy). */
  async verifyFile(file: string, level: CheckLevel, recorded?: Omit<SnapshotFacts, 'check'>): Promise<SnapshotFacts> {
    return checkCopy(file, level, recorded);
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
      recordedFacts: snapshot.facts,
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
