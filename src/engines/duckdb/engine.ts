// The DuckDB engine: one file (and, while a writer has it open or after a crash, its `.wal`). Backups
// are copies taken under DuckDB's own lock (./snapshot.ts), verified by row counts (./verify.ts),
// restored by an atomic rename that no process holding the file may witness (./restore.ts).
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { CheckLevel } from '../../config.js';
import type { DatabaseDiff } from '../diff-types.js';
import { lockFileBeside, removeLeftoversBeside } from '../beside-database.js';
import type { BackupTarget, DiffOptions, DiffSide, Engine, ServerCopy, SnapshotFacts, SnapshotOptions, SnapshotOutput, StagedRestore, StoredSnapshot } from '../engine.js';
import { SafeRunError } from '../../errors.js';
import { isEngineError } from '../engine-errors.js';
import { prepareRestoreDir } from '../sqlite-target.js';
import { diffDuckdb } from './diff.js';
import { stageDuckdbRestore } from './restore.js';
import { COUNTS_FILE, SNAPSHOT_FILE, snapshotDuckdb } from './snapshot.js';
import { verifySnapshot } from './verify.js';

/** How long a backup waits for a file another process holds, when the caller gives no --wait. */
const DEFAULT_WAIT_MS = 30_000;

export class DuckdbEngine implements Engine {
  readonly kind = 'duckdb';
  // The diff reads every row of both sides (no pages to compare): ~15 s for 167 MB on a loaded 2-core
  // machine, so after a run it is only computed for files up to 32 MB.
  readonly capabilities = { diff: true, restoreWhileOpen: false, serverSideClone: false, compressFiles: false, compactDiffMaxBytes: 32 * 1024 * 1024 };
  readonly missing = { what: 'database file', hint: 'check the path in the config or --db; safe-run never creates a database' };

  constructor(
    readonly name: string,
    /** Absolute path of the live database file. */
    readonly location: string,
  ) {}

  static async open(name: string, file: string): Promise<DuckdbEngine> {
    const abs = path.resolve(file);
    const real = await fs.realpath(abs).catch(async () => path.join(await fs.realpath(path.dirname(abs)).catch(() => path.dirname(abs)), path.basename(abs)));
    return new DuckdbEngine(name, real);
  }

  get lockKey(): string {
    return this.location;
  }

  async prepareRestore(): Promise<void> {
    await prepareRestoreDir(this.location);
  }

  async exists(): Promise<boolean> {
    return fs.lstat(this.location).then(
      (st) => st.isFile(),
      () => false,
    );
  }

  async size(): Promise<number> {
    const sizes = await Promise.all([this.location, `${this.location}.wal`].map((f) => fs.stat(f).then((s) => s.size, () => 0)));
    return sizes[0]! + sizes[1]!;
  }

  /** safe-run's own exclusion: the same lock file beside the database that SQLite uses. */
  async lockFile(): Promise<string> {
    return lockFileBeside(this.name, this.location);
  }

  async snapshot(target: BackupTarget, opts: SnapshotOptions = {}): Promise<SnapshotOutput> {
    await snapshotDuckdb(this.location, target.file(SNAPSHOT_FILE), target.file(COUNTS_FILE), { waitMs: opts.waitMs ?? DEFAULT_WAIT_MS, onBusy: opts.onBusy });
    return { files: [SNAPSHOT_FILE, COUNTS_FILE] };
  }

  async verify(snapshot: { files: string[]; serverCopy?: ServerCopy }, level: CheckLevel): Promise<SnapshotFacts> {
    return verifySnapshot(snapshot.files, level);
  }

  async stageRestore(snapshot: StoredSnapshot, level: CheckLevel, keepOld?: BackupTarget, opts: { waitMs?: number } = {}): Promise<StagedRestore> {
    return stageDuckdbRestore(this.location, snapshot, level, keepOld, opts.waitMs);
  }

  async removeLeftovers(): Promise<string[]> {
    return removeLeftoversBeside(this.location, ['.wal']);
  }

  async diff(before: DiffSide, after: DiffSide, _opts: DiffOptions = {}): Promise<DatabaseDiff> {
    const endpoint = (side: DiffSide) => ('live' in side ? { label: side.label, file: this.location, live: true } : { label: side.label, file: side.snapshot.files[0]!.path, live: false });
    return diffDuckdb(this.name, endpoint(before), endpoint(after)).catch((err: unknown) => {
      if (!isEngineError(err, 'held-open')) throw err;
      throw new SafeRunError('locked', `cannot compare ${this.name}: ${err.message}`, { stage: 'diff', database: this.name, hint: 'stop or close that process, then run the same command again', cause: err });
    });
  }
}
