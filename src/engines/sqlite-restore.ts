// Restoring a SQLite database: stage and verify the backup beside it, keep the old one, swap atomically.
import Database from 'better-sqlite3';
import { randomBytes } from 'node:crypto';
import { promises as fs, constants as fsc, type BigIntStats } from 'node:fs';
import path from 'node:path';
import type { CheckLevel } from '../config.js';
import { describeCause } from '../errors.js';
import { fsyncDir, fsyncPath, tempName } from '../files/durable.js';
import { sha256File } from '../files/sha256.js';
import type { KeptDatabase, SnapshotFacts, StagedRestore } from './engine.js';
import { checksumMismatch, EngineError } from './engine-errors.js';
import { SNAPSHOT_FILE } from './sqlite.js';
import { holdSignals } from './hold-signals.js';
import { processesHolding } from './open-handles.js';
import type { SqliteEngine } from './sqlite.js';

const SIDE_FILES = ['-wal', '-shm', '-journal'] as const;

/** A process opened the database after the restore had decided to rename over it. */
function openedMeanwhile(heldBy: string[]): EngineError {
  return new EngineError('opened-meanwhile', `the database was opened during the restore (by ${heldBy.join(', ') || 'another process'}); nothing was changed`, {
    hint: 'stop the processes that use it, or try again when they are idle',
    involved: heldBy,
  });
}

export interface StageRequest {
  backupFile: string;
  sha256: string;
  level: CheckLevel;
  keepOldAt?: string;
}

/**
 * Copy the backup next to the live database and verify the copy; meanwhile keep the live database at
 * `keepOldAt` and verify that too, both checks side by side.
 *
 * How the old database is kept: when no process has it open, its -wal is folded in and it is hard-linked
 * to `keepOldAt` (no copy at all: the swap then renames the new file over the live path, and the old
 * inode lives on only in the store). Otherwise (it is open, the store is on another file system, no hard
 * links) it is copied there with the same consistent snapshot a backup uses. A live database that fails
 * its check is kept all the same (restoring over a damaged database is what a restore is for); its facts
 * say so.
 */
export async function stageSqliteRestore(engine: SqliteEngine, req: StageRequest): Promise<StagedRestore> {
  const target = engine.location;
  const dir = path.dirname(target);
  await fs.access(dir, fsc.W_OK).catch((err) => {
    throw Object.assign(new Error(`cannot write to ${dir}: ${describeCause(err)}`), { cause: err, code: (err as NodeJS.ErrnoException).code });
  });
  const staged = path.join(dir, tempName(path.basename(target)));
  const live = await fs.stat(target).catch(() => undefined);
  let linked = false;
  const discard = async () => {
    for (const suffix of ['', ...SIDE_FILES]) await fs.rm(`${staged}${suffix}`, { force: true });
  };
  try {
    await fs.copyFile(req.backupFile, staged, fsc.COPYFILE_EXCL);
    // The restored file keeps the live file's owner and mode, not the backup's 0600.
    if (live) {
      await fs.chmod(staged, live.mode & 0o7777);
      if (process.getuid?.() === 0) await fs.chown(staged, live.uid, live.gid);
    }
    await fsyncPath(staged);
    const liveMode = live ? await journalModeOf(target) : undefined;
    // Checking the staged copy checks the backup too: if its sha256 matches, they are the same bytes.
    // The live database is only touched (its -wal folded in, to keep it) once the sha256 has matched,
    // so a damaged backup is refused with the live database exactly as it was.
    const checking = engine.verifyFile(staged, req.level);
    checking.catch(() => undefined); // awaited below; this only keeps an early rejection from going unhandled
    const actual = await sha256File(staged);
    if (actual !== req.sha256) {
      await checking.catch(() => undefined);
      throw checksumMismatch(req.sha256, actual);
    }
    let keptAs: BigIntStats | undefined;
    const keeping =
      req.keepOldAt && live
        ? keepOld(engine, req.keepOldAt).then(async (l) => {
            linked = l;
            keptAs = await fs.stat(req.keepOldAt!, { bigint: true }); // before hashing: any later write shows
            return describeKept(engine, req.keepOldAt!, req.level, l);
          })
        : undefined;
    keeping?.catch(() => undefined);
    const facts = await checking;
    const old = await keeping;
    return {
      facts,
      old,
      swap: (opts) => (linked ? swapOverLinked(target, staged, liveMode, facts, req.keepOldAt!, keptAs!) : swapIn(target, staged, liveMode, facts, opts?.waitMs)),
      discard,
    };
  } catch (err) {
    await discard();
    throw err;
  }
}

/** Put the live database at `dest`: a hard link when nobody has it open (true), else a snapshot copy. */
async function keepOld(engine: SqliteEngine, dest: string): Promise<boolean> {
  const target = engine.location;
  const { holders, complete } = await processesHolding(target);
  if (holders.length === 0 && complete && (await foldWal(target))) {
    try {
      await fs.link(target, dest);
      return true;
    } catch {
      // another file system, or no hard links: copy it below
    }
  }
  await engine.snapshotTo(dest);
  return false;
}

/** sha256 and check of the kept database; a failed check is recorded, not thrown. */
async function describeKept(engine: SqliteEngine, file: string, level: CheckLevel, linked: boolean): Promise<KeptDatabase> {
  const [sha256, checked, stat] = await Promise.all([
    sha256File(file),
    engine.verifyFile(file, level).then(
      (facts) => ({ facts, verified: true }),
      (err: unknown) => ({ facts: { tables: [], check: { level, result: describeCause(err) } } as SnapshotFacts, verified: false }),
    ),
    fs.stat(file),
  ]);
  // A read-only connection leaves an empty -wal and a -shm beside a WAL-mode file: not part of the backup.
  for (const suffix of ['-wal', '-shm']) await fs.rm(`${file}${suffix}`, { force: true });
  return { how: linked ? 'link' : 'copy', output: { files: [SNAPSHOT_FILE] }, hashes: [{ sha256, size: stat.size }], ...checked };
}

/**
 * The old database is hard-linked into the store: rename the staged copy over the live path (one atomic
 * step: a crash leaves the old database or the new one, and the store keeps the old inode either way).
 * If a process opened the database meanwhile, nothing is changed. If the check after the rename fails,
 * the old inode is renamed back from the store (the kept backup then has no file; the caller drops it).
 */
async function swapOverLinked(target: string, staged: string, liveMode: string | undefined, facts: SnapshotFacts, kept: string, keptAs: BigIntStats) {
  const release = holdSignals();
  try {
    const { holders } = await processesHolding(target);
    const heldBy = holders.map((h) => `pid ${h.pid} (${h.command})`);
    // The kept file is still the live inode: it must be exactly what was hashed and checked.
    const now = await fs.stat(kept, { bigint: true });
    const changed = now.ino !== keptAs.ino || now.size !== keptAs.size || now.mtimeNs !== keptAs.mtimeNs || now.ctimeNs !== keptAs.ctimeNs;
    const sideFiles = await Promise.all(['-wal', '-journal'].map((x) => fs.stat(`${target}${x}`).then((st) => st.size > 0 || x === '-journal').catch(() => false)));
    if (holders.length > 0 || changed || sideFiles.some(Boolean)) throw openedMeanwhile(heldBy);
    await renameIn(target, staged, liveMode, facts, kept);
    // The old inode now lives only in the store: make it private like every backup.
    await fs.chmod(kept, 0o600).catch(() => undefined);
    return { method: 'rename' as const, heldBy };
  } finally {
    await fs.rm(staged, { force: true }).catch(() => undefined);
    release();
  }
}

/**
 * Put `staged` in place of `target` when the old database was copied (not linked). When no process has
 * it open: fold its -wal in, keep the old file as a hard link beside it, and rename the staged copy over
 * it in one atomic step; a failed check renames the link back. When someone has it open (or we cannot
 * tell, or a -wal stays), renaming would leave them writing to a deleted file
 * (sqlite.org/howtocorrupt.html §2.5), so the content goes in through SQLite's backup API instead: one
 * transaction on the live database, which other connections then see, or nothing at all.
 */
async function swapIn(target: string, staged: string, liveMode: string | undefined, facts: SnapshotFacts, waitMs?: number) {
  const dir = path.dirname(target);
  const { holders, complete } = await processesHolding(target);
  const heldBy = holders.map((h) => `pid ${h.pid} (${h.command})`);
  const release = holdSignals();
  try {
    if (holders.length > 0 || !complete || !(await foldWal(target))) {
      await restoreThroughBackupApi(staged, target, facts, waitMs);
      return { method: 'backup-api' as const, heldBy };
    }
    const aside = path.join(dir, `.${path.basename(target)}.aside-${process.pid}-${randomBytes(4).toString('hex')}`);
    let kept = false;
    try {
      await fs.link(target, aside);
      kept = true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
        await restoreThroughBackupApi(staged, target, facts, waitMs); // no hard links here: the backup API needs none
        return { method: 'backup-api' as const, heldBy };
      }
    }
    await renameIn(target, staged, liveMode, facts, kept ? aside : undefined);
    if (kept) await fs.rm(aside, { force: true });
    return { method: 'rename' as const, heldBy };
  } finally {
    await fs.rm(staged, { force: true }).catch(() => undefined);
    release();
  }
}

/**
 * The one atomic step of a swap: give the staged copy the live journal mode, rename it over `target`,
 * check it. If the check fails, the old file (a hard link at `oldAt`, or none when there was no database)
 * is renamed back, also in one step, and the side files the new file may have grown are removed.
 */
async function renameIn(target: string, staged: string, liveMode: string | undefined, facts: SnapshotFacts, oldAt: string | undefined) {
  const dir = path.dirname(target);
  setJournalMode(staged, liveMode);
  await fs.rename(staged, target);
  await fsyncDir(dir);
  try {
    checkRestored(target, liveMode, facts);
  } catch (err) {
    if (oldAt) await fs.rename(oldAt, target);
    else await fs.rm(target, { force: true });
    for (const suffix of SIDE_FILES) await fs.rm(`${target}${suffix}`, { force: true }).catch(() => undefined);
    await fsyncDir(dir);
    throw err;
  }
}

/**
 * Checkpoint a database nobody else has open until its -wal is gone. True when nothing is left beside
 * the file that a renamed-in database could inherit (a stale -wal would be replayed onto it).
 */
async function foldWal(target: string): Promise<boolean> {
  if (!(await fs.stat(target).catch(() => undefined))) return clearOrphanedSideFiles(target);
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

/**
 * Write the staged copy into the live database through SQLite's backup API: one transaction on it, which
 * other connections then see. better-sqlite3 resolves even when the very first step found the database
 * busy and copied nothing, so the result is checked (every page copied) and the copy retried with a
 * growing pause for up to `waitMs`; then the restored database is checked like a renamed one.
 */
/**
 * The database file is gone (the script deleted it) but its -wal or -journal may be left. Renaming a
 * restored file in beside them would make SQLite replay (or roll back) the deleted database's pages onto
 * it. If a process still holds them, we refuse; otherwise they belong to nothing any more and go.
 */
async function clearOrphanedSideFiles(target: string): Promise<boolean> {
  for (const suffix of SIDE_FILES) {
    const { holders, complete } = await processesHolding(`${target}${suffix}`);
    if (holders.length > 0 || !complete) {
      const who = holders.map((h) => `pid ${h.pid} (${h.command})`).join(', ') || 'another process';
      throw Object.assign(new Error(`the database file is gone but ${who} still has its ${suffix} open; stop it, then restore`), { code: 'EBUSY' });
    }
  }
  for (const suffix of SIDE_FILES) await fs.rm(`${target}${suffix}`, { force: true });
  return true;
}

async function restoreThroughBackupApi(staged: string, target: string, facts: SnapshotFacts, waitMs = 30_000): Promise<void> {
  const deadline = Date.now() + waitMs;
  for (let pause = 50; ; pause = Math.min(pause * 2, 1000)) {
    const src = new Database(staged, { readonly: true, fileMustExist: true });
    let copied: { totalPages: number; remainingPages: number };
    try {
      // All pages in one step: a step-wise copy would restart on every commit of another connection.
      copied = await src.backup(target, { progress: () => 1 << 30 });
    } finally {
      src.close();
    }
    if (copied.remainingPages === 0 && copied.totalPages === facts.pageCount) break;
    if (Date.now() > deadline) {
      throw Object.assign(new Error(`the database stayed busy for ${Math.round(waitMs / 1000)} s; nothing was written to it`), { code: 'SQLITE_BUSY' });
    }
    await new Promise((r) => setTimeout(r, pause));
  }
  checkRestored(target, undefined, facts);
}

/**
 * A cheap check right after the swap: it opens read-only and has the shape we verified. Read-only, so
 * that it needs no lock a client that opened the new file at once could hold. `_liveMode` is set on the
 * staged copy before the rename (setJournalMode), where nobody else can see it.
 */
function checkRestored(target: string, _liveMode: string | undefined, facts: SnapshotFacts): void {
  const db = new Database(target, { readonly: true, fileMustExist: true, timeout: 10_000 });
  try {
    const pageCount = db.pragma('page_count', { simple: true }) as number;
    if (pageCount !== facts.pageCount) {
      throw new Error(`restored file has ${pageCount} pages, the verified copy had ${facts.pageCount}`);
    }
    db.prepare('SELECT count(*) FROM sqlite_schema').pluck().get();
  } finally {
    db.close();
  }
}

/** Give the staged copy the live database's journal mode (WAL stays WAL) before it is renamed in. */
function setJournalMode(staged: string, liveMode: string | undefined): void {
  if (liveMode !== 'wal') return;
  const db = new Database(staged, { fileMustExist: true });
  try {
    db.pragma('journal_mode = WAL');
  } finally {
    db.close(); // the last connection: its (empty) -wal and -shm go with it
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
