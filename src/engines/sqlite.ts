// The SQLite engine: consistent snapshots under live writers, verification, and a safe swap on restore.
import Database from 'better-sqlite3';
import { createHash, randomBytes } from 'node:crypto';
import { promises as fs, constants as fsc } from 'node:fs';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import type { CheckLevel } from '../config.js';
import { fsyncDir, fsyncPath, processIsAlive, tempName } from '../files/durable.js';
import { sha256File } from '../files/sha256.js';
import type { Engine, SnapshotFacts, StagedRestore } from './engine.js';
import { processesHolding } from './open-handles.js';
import { checkAndReadFacts, CheckFailedError } from './sqlite-facts.js';
import { holdSignals } from './hold-signals.js';

/** Below this size the check runs on the main thread: a worker's start-up would cost more than it saves. */
const WORKER_THRESHOLD = 32 * 1024 * 1024;

const SIDE_FILES = ['-wal', '-shm', '-journal'] as const;

export class SqliteEngine implements Engine {
  readonly kind = 'sqlite' as const;
  readonly capabilities = { singleFileSnapshot: true };

  constructor(
    readonly name: string,
    /** Absolute path of the live database file (symlinks resolved where it exists). */
    readonly location: string,
  ) {}

  static async open(name: string, file: string): Promise<SqliteEngine> {
    return new SqliteEngine(name, await canonicalPath(file));
  }

  async exists(): Promise<boolean> {
    try {
      return (await fs.stat(this.location)).isFile();
    } catch {
      return false;
    }
  }

  async size(): Promise<number> {
    const main = await fs.stat(this.location).catch(() => undefined);
    const wal = await fs.stat(`${this.location}-wal`).catch(() => undefined);
    return (main?.size ?? 0) + (wal?.size ?? 0);
  }

  async lockFile(fallbackDir: string): Promise<string> {
    // Beside the database, so that every safe-run on this machine sees it, whatever its config or store.
    const beside = `${this.location}.safe-run-lock`;
    try {
      await fs.access(path.dirname(this.location), fsc.W_OK);
      return beside;
    } catch {
      const key = createHash('sha256').update(this.location).digest('hex').slice(0, 16);
      return path.join(fallbackDir, `${this.name}-${key}.lock`);
    }
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
  async snapshot(dest: string): Promise<void> {
    // SQLite says only "unable to open the database file" for a file we may not read: ask first.
    await fs.access(this.location, fsc.R_OK);
    const src = openLive(this.location);
    let walCopied = false;
    try {
      src.exec('BEGIN');
      src.prepare('SELECT count(*) FROM sqlite_schema').pluck().get(); // takes the read lock now
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
    const dir = path.dirname(this.location);
    const base = path.basename(this.location);
    const removed: string[] = [];
    for (const name of await fs.readdir(dir).catch(() => [] as string[])) {
      if (!name.startsWith(`.${base}.`)) continue;
      // A staged copy (.tmp-) or the old file kept during a swap (.aside-): by the order of the swap,
      // the database itself is whole either way, so what a dead process left is only garbage.
      const m = /\.(?:tmp|aside)-(\d+)-[0-9a-f]{8}(?:-wal|-shm|-journal)?$/.exec(name);
      if (m && !processIsAlive(Number(m[1]))) {
        await fs.rm(path.join(dir, name), { force: true });
        removed.push(name);
      }
    }
    return removed;
  }

  async verify(file: string, level: CheckLevel): Promise<SnapshotFacts> {
    const { size } = await fs.stat(file);
    const facts = size < WORKER_THRESHOLD ? checkAndReadFacts(file, level) : await verifyInWorker(file, level);
    return facts;
  }

  async stageRestore(backupFile: string, sha256: string, level: CheckLevel): Promise<StagedRestore> {
    const target = this.location;
    const dir = path.dirname(target);
    await fs.access(dir, fsc.W_OK).catch((err) => {
      throw Object.assign(new Error(`cannot write to ${dir}`), { cause: err, code: (err as NodeJS.ErrnoException).code });
    });
    const staged = path.join(dir, tempName(path.basename(target)));
    const live = await fs.stat(target).catch(() => undefined);
    const discard = async () => {
      for (const suffix of ['', ...SIDE_FILES]) await fs.rm(`${staged}${suffix}`, { force: true });
    };
    try {
      await fs.copyFile(backupFile, staged, fsc.COPYFILE_EXCL);
      // The restored file keeps the live file's owner and mode, not the backup's 0600.
      if (live) {
        await fs.chmod(staged, live.mode & 0o7777);
        if (process.getuid?.() === 0) await fs.chown(staged, live.uid, live.gid);
      }
      await fsyncPath(staged);
      // Checking the staged copy checks the backup too: if its sha256 matches, they are the same bytes.
      const [actual, facts] = await Promise.all([sha256File(staged), this.verify(staged, level)]);
      if (actual !== sha256) throw new ChecksumMismatchError(sha256, actual);
      const liveMode = live ? await journalModeOf(target) : undefined;
      return {
        facts,
        swap: () => swapIn(target, staged, liveMode, facts),
        discard,
      };
    } catch (err) {
      await discard();
      throw err;
    }
  }
}

export class ChecksumMismatchError extends Error {
  readonly code = 'CHECKSUM_MISMATCH';
  constructor(
    readonly expected: string,
    readonly actual: string,
  ) {
    super(`sha256 mismatch: expected ${expected.slice(0, 12)}…, found ${actual.slice(0, 12)}…`);
    this.name = 'ChecksumMismatchError';
  }
}

/** A connection to the live database that never creates it and waits politely for a busy writer. */
function openLive(file: string): Database.Database {
  return new Database(file, { fileMustExist: true, timeout: 10_000 });
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

/** The journal mode recorded in a database file's header: "wal" when bytes 18-19 are 2, else "delete". */
async function journalModeOf(file: string): Promise<string> {
  const fh = await fs.open(file, 'r');
  try {
    const buf = Buffer.alloc(20);
    await fh.read(buf, 0, 20, 0);
    return buf[18] === 2 && buf[19] === 2 ? 'wal' : 'delete';
  } finally {
    await fh.close();
  }
}

function verifyInWorker(file: string, level: CheckLevel): Promise<SnapshotFacts> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL('../engines/sqlite-verify-worker.js', import.meta.url), { workerData: { file, level } });
    worker.once('message', (msg: { ok: boolean; facts?: SnapshotFacts; error?: { message: string; code?: string; checkResult?: string } }) => {
      if (msg.ok) resolve(msg.facts!);
      else if (msg.error?.checkResult !== undefined) reject(new CheckFailedError(msg.error.checkResult));
      else reject(Object.assign(new Error(msg.error?.message ?? 'verify failed'), { code: msg.error?.code }));
    });
    worker.once('error', reject);
    worker.once('exit', (code) => {
      if (code !== 0) reject(new Error(`verify worker exited with code ${code}`));
    });
  });
}

/**
 * Put `staged` in place of `target`, so that a crash at any instant leaves either the old database or
 * the new one, whole. When no process has the database open: fold its -wal into it (our connection is
 * then the last one, and closing it removes the -wal), keep the old file as a hard link beside it, and
 * rename the staged copy over it in one atomic step. If the check after that fails, the link is renamed
 * back, also atomically. When someone has it open (or we cannot tell, or a -wal stays), renaming would
 * leave them writing to a deleted file (sqlite.org/howtocorrupt.html §2.5), so the content goes in
 * through SQLite's backup API instead: one transaction on the live database, which other connections
 * then see, or nothing at all.
 */
async function swapIn(
  target: string,
  staged: string,
  liveMode: string | undefined,
  facts: SnapshotFacts,
): Promise<{ method: 'rename' | 'backup-api'; heldBy: string[] }> {
  const dir = path.dirname(target);
  const { holders, complete } = await processesHolding(target);
  const heldBy = holders.map((h) => `pid ${h.pid} (${h.command})`);
  const release = holdSignals();
  try {
    if (holders.length > 0 || !complete || !(await foldWal(target))) {
      await restoreThroughBackupApi(staged, target);
      return { method: 'backup-api', heldBy };
    }
    const aside = path.join(dir, `.${path.basename(target)}.aside-${process.pid}-${randomBytes(4).toString('hex')}`);
    let kept = false;
    try {
      await fs.link(target, aside);
      kept = true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
        // No hard links here (some file systems): the backup API needs none.
        await restoreThroughBackupApi(staged, target);
        return { method: 'backup-api', heldBy };
      }
    }
    await fs.rename(staged, target);
    await fsyncDir(dir);
    try {
      checkRestored(target, liveMode, facts);
    } catch (err) {
      if (kept) await fs.rename(aside, target);
      else await fs.rm(target, { force: true });
      for (const suffix of SIDE_FILES) await fs.rm(`${target}${suffix}`, { force: true }).catch(() => undefined);
      await fsyncDir(dir);
      throw err;
    }
    if (kept) await fs.rm(aside, { force: true });
    return { method: 'rename', heldBy };
  } finally {
    await fs.rm(staged, { force: true }).catch(() => undefined);
    release();
  }
}

/**
 * Checkpoint a database nobody else has open until its -wal is gone. True when nothing is left beside
 * the file that a renamed-in database could inherit (a stale -wal would be replayed onto it).
 */
async function foldWal(target: string): Promise<boolean> {
  if (!(await fs.stat(target).catch(() => undefined))) return true; // nothing there (the script deleted it)
  const db = new Database(target, { fileMustExist: true, timeout: 10_000 });
  try {
    if (db.pragma('journal_mode', { simple: true }) === 'wal') db.pragma('wal_checkpoint(TRUNCATE)');
  } finally {
    db.close(); // the last connection to close removes the -wal and -shm
  }
  const walSize = await fs.stat(`${target}-wal`).then((st) => st.size).catch(() => 0);
  const journal = await fs.stat(`${target}-journal`).then(() => true).catch(() => false);
  return walSize === 0 && !journal;
}

async function restoreThroughBackupApi(staged: string, target: string): Promise<void> {
  const src = new Database(staged, { readonly: true, fileMustExist: true });
  try {
    // All pages in one step: a step-wise copy would restart on every commit of another connection.
    await src.backup(target, { progress: () => 1 << 30 });
  } finally {
    src.close();
  }
}

/** A cheap check right after the swap: it opens, has the shape we verified, and gets its journal mode back. */
function checkRestored(target: string, liveMode: string | undefined, facts: SnapshotFacts): void {
  const db = new Database(target, { fileMustExist: true, timeout: 10_000 });
  try {
    const pageCount = db.pragma('page_count', { simple: true }) as number;
    if (pageCount !== facts.pageCount) {
      throw new Error(`restored file has ${pageCount} pages, the verified copy had ${facts.pageCount}`);
    }
    db.prepare('SELECT count(*) FROM sqlite_schema').pluck().get();
    if (liveMode === 'wal') db.pragma('journal_mode = WAL');
  } finally {
    db.close();
  }
}
