// Restoring a SQLite database: stage and verify the backup beside it, keep the old one, swap atomically.
import { createHash } from 'node:crypto';
import { promises as fs, constants as fsc, type BigIntStats } from 'node:fs';
import path from 'node:path';
import type { CheckLevel } from '../config.js';
import { describeCause } from '../errors.js';
import { fsyncPath, tempName } from '../files/durable.js';
import { sha256File } from '../files/sha256.js';
import { decompressFile, type Compression } from '../files/compression.js';
import type { KeptDatabase, SnapshotFacts, StagedRestore } from './engine.js';
import { CheckFailedError, checksumMismatch, RestorePlaceError } from './engine-errors.js';
import { copyHashing } from './sqlite-copy.js';
import { SNAPSHOT_FILE } from './sqlite.js';
import { processesHolding } from './open-handles.js';
import type { SqliteEngine } from './sqlite.js';
import { foldWal, headerOf, swapIn, swapOverLinked } from './sqlite-swap.js';

const SIDE_FILES = ['-wal', '-shm', '-journal'] as const;

export interface StageRequest {
  backupFile: string;
  sha256: string;
  /** The facts recorded when the backup was taken: they hold for the staged bytes once the sha256 matched. */
  recordedFacts?: SnapshotFacts;
  level: CheckLevel;
  keepOldAt?: string;
  /** The backup file is stored compressed: decompressed into the staged copy after its stored sha256 matched. */
  compression?: Compression;
  storedSha256?: string;
  /** The backup is stored as pages: reassembled straight into the staged copy, its sha256 checked as written. */
  assemble?: (dest: string) => Promise<{ sha256: string; size: number }>;
  /** How long keeping the old database waits for a writer that holds it (default 30 s). */
  waitMs?: number;
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
  const beside = (err: unknown) => {
    throw err instanceof RestorePlaceError ? err : new RestorePlaceError('beside', dir, err);
  };
  await fs.access(dir, fsc.W_OK).catch(beside);
  const staged = path.join(dir, tempName(path.basename(target)));
  // Not followed: a link at the path is not the database the backup was taken of (see swapIn).
  const found = await fs.lstat(target).catch(() => undefined);
  const live = found?.isFile() ? found : undefined;
  let linked = false;
  const discard = async () => {
    for (const suffix of ['', ...SIDE_FILES]) await fs.rm(`${staged}${suffix}`, { force: true });
  };
  try {
    if (req.compression && req.storedSha256) {
      // The stored (compressed) bytes first: a damaged file is refused by its checksum, before zstd
      // reports it as a broken frame.
      const stored = await sha256File(req.backupFile);
      if (stored !== req.storedSha256) throw checksumMismatch(req.storedSha256, stored);
    }
    // Copy once, verify once: the stored file is hashed as it is read while the kernel copies it (a
    // compressed one is hashed as it is decompressed into the staged copy), and an uncompressed backup
    // is checked in the store meanwhile (see checkInStore).
    // Its recorded facts (row counts, page count) are of the same bytes once the sha256 matches: only
    // the integrity check runs again. Until then they are only trusted as far as that check goes.
    const recorded = usableFacts(req.recordedFacts);
    // A page backup has no file in the store to check: it is reassembled (and hashed) into the staged copy.
    const storedAs = req.compression || req.assemble ? undefined : await fs.stat(req.backupFile, { bigint: true });
    const checkingStored = storedAs ? checkInStore(engine, req.backupFile, req.level, storedAs, recorded) : undefined;
    checkingStored?.catch(() => undefined); // awaited below; this only keeps an early rejection from going unhandled
    const actual = await (async () => {
      let sha256: string;
      if (req.assemble) {
        sha256 = (await req.assemble(staged)).sha256; // fsynced, and refused unless it matches
      } else if (req.compression) {
        const hash = createHash('sha256');
        await decompressFile(req.backupFile, staged, req.compression, (chunk) => hash.update(chunk));
        await fsyncPath(staged);
        sha256 = hash.digest('hex');
      } else {
        sha256 = (await copyHashing(req.backupFile, staged)).sha256;
        // The hash was read from the stored file while the kernel copied it: the same bytes, unless the
        // stored file was written meanwhile; then the staged copy itself is hashed.
        if (!(await unchangedSince(req.backupFile, storedAs!))) sha256 = await sha256File(staged);
      }
      // The restored file keeps the live file's owner and mode, not the backup's 0600.
      if (live) {
        await fs.chmod(staged, live.mode & 0o7777);
        if (process.getuid?.() === 0) await fs.chown(staged, live.uid, live.gid);
      }
      return sha256;
    })().catch(async (err) => {
      await checkingStored?.catch(() => undefined);
      // A page backup that does not reassemble to its sha256 is damaged, not a place we cannot write.
      if ((err as { failure?: string }).failure === 'checksum') throw err;
      return beside(err);
    });
    const liveMode = live ? (await headerOf(target)).journalMode : undefined;
    // The live database is only touched (its -wal folded in, to keep it) once the sha256 has matched,
    // so a damaged backup is refused with the live database exactly as it was.
    if (actual !== req.sha256) {
      await checkingStored?.catch(() => undefined);
      throw checksumMismatch(req.sha256, actual);
    }
    // Checking the staged copy checks the backup too: its sha256 matched, they are the same bytes.
    // Evaluated once both the copy and the check of the stored file are done: unchanged since before
    // either began, so both read the same bytes (see checkInStore).
    const checking = (checkingStored ?? Promise.resolve(undefined)).then(async (facts) =>
      facts && (await unchangedSince(req.backupFile, storedAs!)) ? facts : engine.verifyFile(staged, req.level, recorded),
    );
    checking.catch(() => undefined);
    let keptAs: BigIntStats | undefined;
    const keeping =
      req.keepOldAt && live
        ? keepOld(engine, req.keepOldAt, req.level, req.waitMs)
            .then(async (k) => {
              linked = k.linked;
              keptAs = await fs.stat(req.keepOldAt!, { bigint: true }); // before hashing: any later write shows
              return describeKept(engine, req.keepOldAt!, req.level, k);
            })
            .catch((err) => {
              throw err instanceof RestorePlaceError || (err as { code?: string }).code === 'SQLITE_BUSY'
                ? err
                : new RestorePlaceError('store', path.dirname(req.keepOldAt!), err);
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

/**
 * Check an uncompressed backup where it is stored, while it is copied: resolves to its facts, or to
 * undefined when the file may have changed between the two reads (then the staged copy is checked).
 *
 * Why this checks the staged bytes: the staged copy is the kernel's copy of the stored file, its sha256
 * is of the stored file's bytes as read meanwhile and must equal the recorded one, and the check read
 * the stored file too. All three read the same file; if no write reached it from before the first read
 * to after the last (its inode, size, mtime and ctime, to the nanosecond, are as they were: every write,
 * truncate or replacement changes one of them), all three saw the same bytes. The caller tests that once
 * the copy and this check are both done. A backup file is never written after it is published, so this
 * only fails when something else is at work, and then costs a hash or a check of the staged copy.
 */
async function checkInStore(engine: SqliteEngine, file: string, level: CheckLevel, before: BigIntStats, recorded?: Omit<SnapshotFacts, 'check'>): Promise<SnapshotFacts | undefined> {
  const facts = await engine.verifyFile(file, level, recorded);
  return (await unchangedSince(file, before)) ? facts : undefined;
}

/** Whether no write reached `file` since `before` was taken: the same inode, size, mtime and ctime. */
async function unchangedSince(file: string, before: BigIntStats): Promise<boolean> {
  const after = await fs.stat(file, { bigint: true }).catch(() => undefined);
  return !!after && before.ino === after.ino && before.dev === after.dev && before.size === after.size && before.mtimeNs === after.mtimeNs && before.ctimeNs === after.ctimeNs;
}

/**
 * Recorded facts a restore can stand on: a SQLite backup's page count and tables. The swap compares the
 * restored file's page count with it, so a manifest whose facts were not of this file makes the swap put
 * the old database back rather than pass.
 */
function usableFacts(facts: SnapshotFacts | undefined): Omit<SnapshotFacts, 'check'> | undefined {
  if (!facts || typeof facts.pageCount !== 'number' || typeof facts.pageSize !== 'number' || !Array.isArray(facts.tables)) return undefined;
  const { check: _check, ...rest } = facts;
  return rest;
}

/** How the live database was kept: a hard link, or a snapshot copy (hashed and checked as it was taken). */
type Kept = { linked: true } | { linked: false; sha256: string; size: number; facts?: SnapshotFacts; checkError?: unknown };

/** Put the live database at `dest`: a hard link when nobody has it open, else a verified snapshot copy. */
async function keepOld(engine: SqliteEngine, dest: string, level: CheckLevel, waitMs?: number): Promise<Kept> {
  const target = engine.location;
  const { holders, complete } = await processesHolding(target);
  // Only a file with no other name: a second name (`ln app.db alias.db`) would keep writing into the
  // kept "backup", and the swap would leave that name pointing at it.
  const single = (await fs.stat(target)).nlink === 1;
  if (single && holders.length === 0 && complete && (await foldWal(target))) {
    try {
      await fs.link(target, dest);
      if ((await fs.stat(dest)).nlink === 2) return { linked: true };
      await fs.rm(dest, { force: true }); // linked by someone else meanwhile: copy it below
    } catch {
      // another file system, or no hard links: copy it below
    }
  }
  try {
    const taken = await engine.snapshotTo(dest, { waitMs, check: level });
    return { linked: false, sha256: taken.sha256, size: taken.size, facts: taken.facts };
  } catch (err) {
    // A live database that fails its check is kept all the same: the copy is complete, only unchecked.
    if (!(err instanceof CheckFailedError)) throw err;
    const { size } = await fs.stat(dest);
    return { linked: false, sha256: await sha256File(dest), size, checkError: err };
  }
}

/** sha256 and check of the kept database; a failed check is recorded, not thrown. */
async function describeKept(engine: SqliteEngine, file: string, level: CheckLevel, kept: Kept): Promise<KeptDatabase> {
  const failed = (err: unknown) => ({ facts: { tables: [], check: { level, result: describeCause(err) } } as SnapshotFacts, verified: false });
  const output = { files: [SNAPSHOT_FILE] };
  if (!kept.linked) {
    const checked = kept.facts ? { facts: kept.facts, verified: true } : failed(kept.checkError);
    return { how: 'copy', output, hashes: [{ sha256: kept.sha256, size: kept.size }], ...checked };
  }
  const [sha256, checked, stat] = await Promise.all([
    sha256File(file),
    engine.verifyFile(file, level).then((facts) => ({ facts, verified: true }), failed),
    fs.stat(file),
  ]);
  // A read-only connection leaves an empty -wal and a -shm beside a WAL-mode file: not part of the backup.
  for (const suffix of ['-wal', '-shm']) await fs.rm(`${file}${suffix}`, { force: true });
  return { how: 'link', output, hashes: [{ sha256, size: stat.size }], ...checked };
}
