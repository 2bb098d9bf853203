// Swapping a verified copy in place of a live SQLite database: by rename when nobody has it open, else
// through SQLite's backup API; the old file is put back when the result does not check out.
import Database from 'better-sqlite3';
import { randomBytes } from 'node:crypto';
import { promises as fs, type BigIntStats } from 'node:fs';
import path from 'node:path';
import { fsyncDir } from '../files/durable.js';
import { EngineError } from './engine-errors.js';
import type { SnapshotFacts } from './engine.js';
import { holdSignals } from './hold-signals.js';
import { processesHolding } from './open-handles.js';
import { linkAt } from './sqlite-target.js';
import { WalPageSizeError } from './sqlite-wal-page-size.js';

const SIDE_FILES = ['-wal', '-shm', '-journal'] as const;

/** A process opened the database after the restore had decided to rename over it. */
export class OpenedMeanwhileError extends EngineError {
  constructor(readonly heldBy: string[]) {
    super('opened-meanwhile', `the database was opened during the restore (by ${heldBy.join(', ') || 'another process'}); nothing was changed`, {
      hint: 'nothing was lost; run the same command again once it is closed',
      involved: heldBy,
    });
    this.name = 'OpenedMeanwhileError';
  }
}

/**
 * The old database is hard-linked into the store: rename the staged copy over the live path (one atomic
 * step: a crash leaves the old database or the new one, and the store keeps the old inode either way).
 * If a process opened the database meanwhile, nothing is changed. If the check after the rename fails,
 * the old inode is renamed back from the store (the kept backup then has no file; the caller drops it).
 */
export async function swapOverLinked(target: string, staged: string, liveMode: string | undefined, facts: SnapshotFacts, kept: string, keptAs: BigIntStats) {
  const release = holdSignals();
  try {
    const { holders } = await processesHolding(target);
    const heldBy = holders.map((h) => `pid ${h.pid} (${h.command})`);
    // The kept file is still the live inode: it must be exactly what was hashed and checked.
    const now = await fs.stat(kept, { bigint: true });
    const atPath = await fs.lstat(target, { bigint: true }).catch(() => undefined);
    const changed =
      now.ino !== keptAs.ino || now.size !== keptAs.size || now.mtimeNs !== keptAs.mtimeNs || now.ctimeNs !== keptAs.ctimeNs || atPath?.ino !== keptAs.ino;
    const sideFiles = await Promise.all(['-wal', '-journal'].map((x) => fs.stat(`${target}${x}`).then((st) => st.size > 0 || x === '-journal').catch(() => false)));
    if (holders.length > 0 || changed || sideFiles.some(Boolean)) throw new OpenedMeanwhileError(heldBy);
    await renameIn(target, staged, liveMode, facts, kept);
    // The old inode now lives only in the store (unless it was given another name meanwhile): make it
    // private like every backup.
    if ((await fs.stat(kept)).nlink === 1) await fs.chmod(kept, 0o600).catch(() => undefined);
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
export async function swapIn(target: string, staged: string, liveMode: string | undefined, facts: SnapshotFacts, waitMs?: number) {
  const dir = path.dirname(target);
  // A symbolic link at the path was made after the backup (its path was recorded resolved): it is
  // replaced like a deleted file, by renaming over the link itself. Nothing opens, checkpoints or
  // writes through it, so its target stays exactly as it is.
  const replacedLink = await linkAt(target);
  const { holders, complete } = replacedLink ? { holders: [], complete: true } : await processesHolding(target);
  const heldBy = holders.map((h) => `pid ${h.pid} (${h.command})`);
  const release = holdSignals();
  try {
    const settled = replacedLink ? await clearOrphanedSideFiles(target) : await foldWal(target);
    if (holders.length > 0 || !complete || !settled) {
      await restoreThroughBackupApi(staged, target, facts, waitMs, heldBy);
      return { method: 'backup-api' as const, heldBy };
    }
    const aside = path.join(dir, `.${path.basename(target)}.aside-${process.pid}-${randomBytes(4).toString('hex')}`);
    let kept = false;
    try {
      await fs.link(target, aside); // link(2) does not follow a symbolic link: a link is kept as a link
      kept = true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
        await restoreThroughBackupApi(staged, target, facts, waitMs, heldBy); // no hard links here: the backup API needs none
        return { method: 'backup-api' as const, heldBy };
      }
    }
    await renameIn(target, staged, liveMode, facts, kept ? aside : undefined);
    if (kept) await fs.rm(aside, { force: true });
    return { method: 'rename' as const, heldBy, replacedLink };
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
export async function foldWal(target: string): Promise<boolean> {
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

/**
 * Write the staged copy into the live database through SQLite's backup API: one transaction on it, which
 * other connections then see. better-sqlite3 resolves even when the very first step found the database
 * busy and copied nothing, so the result is checked (every page copied) and the copy retried with a
 * growing pause for up to `waitMs`; then the restored database is checked like a renamed one.
 */
async function restoreThroughBackupApi(staged: string, target: string, facts: SnapshotFacts, waitMs = 30_000, heldBy: string[] = []): Promise<void> {
  const live = await headerOf(target);
  // SQLite's backup API cannot change the page size of a WAL database (SQLITE_READONLY): say so first.
  if (live.journalMode === 'wal' && facts.pageSize && live.pageSize !== facts.pageSize) {
    throw new WalPageSizeError(facts.pageSize, live.pageSize, heldBy);
  }
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
 *
 * Why it stays although the staged copy was hashed and checked: it costs milliseconds (the header, the
 * page count and the schema, not a scan), and it is the only look at what the path holds after the
 * rename or the backup API wrote it: a file put there by someone else meanwhile, or a backup API copy
 * that stopped short, shows as another page count. Re-hashing or re-checking the whole file would only
 * read again bytes that are already proven.
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

/**
 * From a database file's header: the journal mode ("wal" when bytes 18-19 are 2, else "delete") and
 * the page size (bytes 16-17, big-endian; 1 means 65536).
 */
export async function headerOf(file: string): Promise<{ journalMode: string; pageSize: number }> {
  const fh = await fs.open(file, 'r');
  try {
    const buf = Buffer.alloc(20);
    await fh.read(buf, 0, 20, 0);
    const size = buf.readUInt16BE(16);
    return { journalMode: buf[18] === 2 && buf[19] === 2 ? 'wal' : 'delete', pageSize: size === 1 ? 65536 : size };
  } finally {
    await fh.close();
  }
}
