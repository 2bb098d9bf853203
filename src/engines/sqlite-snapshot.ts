// A consistent, self-contained copy of a live SQLite database, read once: hashed while it is copied,
// and checked on the live database's read snapshot while the copy is made, when that provably reads
// the bytes the copy holds (else the copy is checked afterwards, as before).
import Database from 'better-sqlite3';
import { promises as fs, constants as fsc } from 'node:fs';
import type { CheckLevel } from '../config.js';
import { fsyncPath } from '../files/durable.js';
import { sha256File } from '../files/sha256.js';
import type { SnapshotFacts, SnapshotOptions } from './engine.js';
import { checkLiveInWorkers, checkOnlyInWorker, verifyInWorkers, type RunningCheck } from './sqlite-check-workers.js';
import { copyHashing } from './sqlite-copy.js';
import { checkAndReadFacts, readFactsOn, runCheck, runCheckOn } from './sqlite-facts.js';
import { withUriFilenames } from '../files/sqlite-uri.js';

/** Below this size the check runs on the main thread: a worker's start-up would cost more than it saves. */
export const WORKER_THRESHOLD = 32 * 1024 * 1024;

const SIDE_FILES = ['-wal', '-shm', '-journal'] as const;

/**
 * How long the checkpoint before the copy may wait for a writer's lock. A writer holds it only while it
 * commits; a short wait (SQLite polls after 1, 2, 5 and 10 ms) lets the checkpoint in between two
 * commits, and the copy then takes the fast path (one read, the check alongside) instead of copying and
 * folding the -wal. A writer that commits back to back (bench/writer.js) wins every such race: longer
 * waits would only be lost time.
 */
const CHECKPOINT_WAIT_MS = 20;
/** Checkpoints tried when a writer commits again before our read transaction begins. */
const CHECKPOINT_TRIES = 3;

export interface TakeOptions extends SnapshotOptions {
  /**
   * Sees every chunk of the stored file as it is written (see CopyOptions.onChunk), on the one-read path
   * only: `TakenSnapshot.chunksSeen` says whether it did (a folded WAL rewrites pages after the copy).
   */
  onChunk?: (chunk: Buffer, offset: number) => void;
}

export interface TakenSnapshot {
  /** sha256 and size of exactly the bytes of the file at `dest`, after fsync. */
  sha256: string;
  size: number;
  /** Whether `onChunk` saw exactly the stored bytes (the one-read path). */
  chunksSeen?: boolean;
  /** Present when a check was asked for: what it found, and on what (`check.on`). */
  facts?: SnapshotFacts;
}

/**
 * Copy the live database at `live` to `dest` (a path that does not exist yet) as one self-contained
 * rollback-journal file, fsynced; with `opts.check`, also check it.
 *
 * Why the copy is consistent, and when it is the live file's bytes as they are (the fast path):
 * - Rollback-journal mode: our read transaction holds a SHARED lock for the whole copy. A writer needs
 *   EXCLUSIVE to change the file, which SHARED refuses, so the file does not change while it is copied.
 * - WAL mode: first `PRAGMA wal_checkpoint(TRUNCATE)`, waiting at most CHECKPOINT_WAIT_MS (still busy:
 *   nothing is lost, the fallback below runs). Then the read transaction begins, and the -wal is measured. If it is 0 bytes,
 *   our snapshot has no WAL frames, so SQLite gave us read-mark 0 (the database file alone). A checkpoint
 *   must lock read-mark 0 exclusively before it writes a page into the database file, so while we hold
 *   it the file does not change: commits go to the -wal and stay there. The copy is then our snapshot.
 *   (Had we held a read-mark > 0, the -wal would have frames and could not be reset or truncated while
 *   we held it: it cannot read 0 bytes.) Its header's bytes 18-19 say WAL (2, 2); the copy gets 1, 1
 *   as it is read (rollback-journal mode, exactly the bytes `PRAGMA journal_mode=DELETE` writes there,
 *   without the change counter it also bumps, which SQLite then reads the page count without), and
 *   the sha256 is of the file's bytes as read while the kernel copies them (sqlite-copy.ts): the same
 *   bytes, since the file does not change.
 * - Otherwise (the -wal has frames): the file and then its -wal are copied inside the read transaction
 *   and the copy's WAL is folded in by SQLite's own checkpoint on the copy. An open read transaction keeps
 *   checkpoints from backfilling past its snapshot and the WAL from being reset, so every page of the
 *   file that changes during the copy is also in the -wal, copied after it; replaying it overwrites any
 *   torn page with its committed version and stops at the last whole commit (a half-written frame fails
 *   its checksum). The fold rewrites pages, so this copy is hashed after it, beside its check.
 *
 * Why the check may read the live database instead of the copy (check.on = 'snapshot'), fast path only:
 * the file is the copy's bytes for as long as our read transaction lasts (above), so the two check
 * workers open it immutable (files/sqlite-uri.ts: the file's bytes as they are, no locks, no -wal) and our
 * transaction ends only once they are done. Below 32 MB the check runs on our own connection instead.
 * Where this process cannot open URIs, each worker begins a read transaction of its own while ours is
 * held: in rollback-journal mode no writer can change the file meanwhile, so theirs read the same file;
 * in WAL mode the -wal is measured again once the copy is done and both have begun, and still 0 bytes
 * means no transaction committed since ours began (a commit writes frames; read-mark 0, held by us, keeps
 * them from being checkpointed away, and a -wal with frames is never truncated), so their snapshots are
 * ours. When that cannot be shown (the -wal grew, a worker found the database busy), the workers are
 * stopped and the copy, still our snapshot, is checked afterwards (check.on = 'copy').
 */
export async function takeSnapshot(live: string, dest: string, opts: TakeOptions = {}): Promise<TakenSnapshot> {
  // SQLite says only "unable to open the database file" for a file we may not read: ask first.
  await fs.access(live, fsc.R_OK);
  // The first connection of a run loads better-sqlite3's addon: let it allow the immutable URIs the check uses.
  const src = withUriFilenames(() => new Database(live, { fileMustExist: true, timeout: 0 }));
  let copied: { sha256: string; size: number; chunksSeen: boolean } | undefined;
  let walCopied = false;
  let liveCheck: RunningCheck | undefined;
  let facts: SnapshotFacts | undefined;
  try {
    // Read as bytes: asking SQLite would take a lock that a writer in rollback-journal mode may hold.
    const walFile = await walHeader(live);
    let wal = false;
    let frozen = false;
    for (let attempt = 1; ; attempt++) {
      const emptied = walFile && checkpointLive(src);
      await beginRead(src, opts);
      wal = src.pragma('journal_mode', { simple: true }) === 'wal';
      // The file alone is our snapshot, and stays unchanged until we commit (see above).
      frozen = !wal || (await walBytes(live)) === 0;
      // A writer committed between the checkpoint and our BEGIN: worth another try, it is cheap.
      if (frozen || !emptied || attempt >= CHECKPOINT_TRIES) break;
      src.exec('COMMIT');
    }
    if (frozen) {
      const size = (await fs.stat(live)).size;
      if (opts.check && size >= WORKER_THRESHOLD) liveCheck = checkLiveInWorkers(live, opts.check);
      copied = { ...(await copyHashing(live, dest, { patch: wal ? toRollbackHeader : undefined, onChunk: opts.onChunk, sync: opts.durable ?? true })), chunksSeen: opts.onChunk !== undefined };
      if (opts.check && !liveCheck) {
        // Small: the check on our own connection, inside the very transaction that fixed the copy.
        facts = { ...readFactsOn(src), check: { level: opts.check, result: runCheckOn(src, opts.check), on: 'snapshot' } };
      } else if (liveCheck) {
        const { began, immutable } = await liveCheck.began;
        // Immutable readers read the file our transaction keeps as it is; transactions of their own
        // read it too only if nothing committed since ours began (the -wal is still empty).
        if (began && (immutable || !wal || (await walBytes(live)) === 0)) {
          facts = await liveCheck.facts; // before our transaction ends: the file must not change under them
        } else {
          await liveCheck.stop();
        }
        liveCheck = undefined;
      }
    } else {
      await fs.copyFile(live, dest, fsc.COPYFILE_EXCL);
      if ((await walBytes(live)) > 0) {
        await fs.copyFile(`${live}-wal`, `${dest}-wal`, fsc.COPYFILE_EXCL);
        walCopied = true;
      }
    }
  } catch (err) {
    await liveCheck?.stop();
    throw err;
  } finally {
    if (src.inTransaction) src.exec('COMMIT');
    src.close();
  }
  if (!copied) {
    await fs.chmod(dest, 0o600);
    foldCopy(dest, walCopied);
    for (const suffix of SIDE_FILES) await fs.rm(`${dest}${suffix}`, { force: true });
  }
  // The folded copy goes to the disk while it is hashed and checked (the fold itself does not sync).
  // Not at all when the caller keeps only some of its pages (durable: false, the page store).
  const syncing = copied || !(opts.durable ?? true) ? Promise.resolve() : fsyncPath(dest);
  syncing.catch(() => undefined); // awaited below
  if (facts) return { ...copied!, facts };
  const [hashed, checked] = await Promise.all([
    copied ?? sha256File(dest).then(async (sha256) => ({ sha256, size: (await fs.stat(dest)).size, chunksSeen: false })),
    // The fallback: the copy itself is checked (and hashed, when the fold rewrote it) side by side.
    opts.check ? checkCopy(dest, opts.check) : undefined,
  ]);
  await syncing;
  return checked ? { ...hashed, facts: checked } : hashed;
}

/**
 * Check a backup file: in workers when it is large enough to pay for their start-up. With `recorded`
 * (the facts of these very bytes, proven by their sha256), only the integrity check runs: counting the
 * rows again would read the file again for figures that are already known.
 */
export async function checkCopy(file: string, level: CheckLevel, recorded?: Omit<SnapshotFacts, 'check'>): Promise<SnapshotFacts> {
  const { size } = await fs.stat(file);
  if (recorded) {
    const result = size < WORKER_THRESHOLD ? runCheck(file, level) : await checkOnlyInWorker(file, level);
    return { ...recorded, check: { level, result, on: 'copy' } };
  }
  return size < WORKER_THRESHOLD ? checkAndReadFacts(file, level) : verifyInWorkers(file, level);
}

/**
 * Fold the copied WAL in and leave a self-contained rollback-journal file: nothing is needed beside it.
 * Without syncs (synchronous=OFF): the copy is a file of a pending backup that nothing else opens, a
 * crash discards it whole, and the caller fsyncs it before it counts; SQLite's own syncs would only make
 * the whole new file reach the disk here, before the hash and the check, instead of beside them.
 */
function foldCopy(dest: string, walCopied: boolean): void {
  const copy = new Database(dest, { fileMustExist: true });
  try {
    copy.pragma('synchronous = OFF');
    if (walCopied || copy.pragma('journal_mode', { simple: true }) === 'wal') {
      copy.pragma('wal_checkpoint(TRUNCATE)');
      copy.pragma('journal_mode = DELETE');
    }
  } finally {
    copy.close();
  }
}

/**
 * `PRAGMA wal_checkpoint(TRUNCATE)` on the live database, waiting at most CHECKPOINT_WAIT_MS for a
 * writer's lock: true when it emptied the -wal, false when it was busy (nothing is lost either way).
 */
function checkpointLive(src: Database.Database): boolean {
  try {
    src.prepare('SELECT count(*) FROM sqlite_schema').pluck().get(); // opens the WAL: a checkpoint needs it
    src.pragma(`busy_timeout = ${CHECKPOINT_WAIT_MS}`);
    const [row] = src.pragma('wal_checkpoint(TRUNCATE)') as Array<{ busy: number }>;
    return row?.busy === 0;
  } catch (err) {
    if (!String((err as { code?: string }).code).startsWith('SQLITE_BUSY')) throw err;
    return false;
  } finally {
    src.pragma('busy_timeout = 0'); // beginRead waits its own way
  }
}

/** Header bytes 18-19 (file format write/read version): 2 is WAL, 1 rollback-journal (legacy). */
function toRollbackHeader(head: Buffer): void {
  if (head.length >= 20 && head[18] === 2 && head[19] === 2) {
    head[18] = 1;
    head[19] = 1;
  }
}

/** Whether the file's header says WAL mode (bytes 18-19 are 2); false for a file too short to say. */
async function walHeader(file: string): Promise<boolean> {
  const fh = await fs.open(file, 'r');
  try {
    const buf = Buffer.alloc(20);
    const { bytesRead } = await fh.read(buf, 0, 20, 0);
    return bytesRead === 20 && buf[18] === 2 && buf[19] === 2;
  } finally {
    await fh.close();
  }
}

async function walBytes(live: string): Promise<number> {
  return fs.stat(`${live}-wal`).then((s) => s.size).catch(() => 0);
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
