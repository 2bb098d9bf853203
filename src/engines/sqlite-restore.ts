// Restoring a SQLite database: stage and verify the backup beside it, keep the old one, swap atomically.
import { promises as fs, constants as fsc, type BigIntStats } from 'node:fs';
import path from 'node:path';
import type { CheckLevel } from '../config.js';
import { describeCause } from '../errors.js';
import { fsyncPath, tempName } from '../files/durable.js';
import { sha256File } from '../files/sha256.js';
import { decompressFile, type Compression } from '../files/compression.js';
import type { KeptDatabase, SnapshotFacts, StagedRestore } from './engine.js';
import { checksumMismatch, RestorePlaceError } from './engine-errors.js';
import { SNAPSHOT_FILE } from './sqlite.js';
import { processesHolding } from './open-handles.js';
import type { SqliteEngine } from './sqlite.js';
import { foldWal, headerOf, swapIn, swapOverLinked } from './sqlite-swap.js';

const SIDE_FILES = ['-wal', '-shm', '-journal'] as const;

export interface StageRequest {
  backupFile: string;
  sha256: string;
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
    let assembled: string | undefined;
    if (req.assemble) {
      // Its own errors say what is damaged (a checksum) or the disk's (full, not writable).
      assembled = await req.assemble(staged).then((r) => r.sha256, (err: unknown) => {
        throw (err as { failure?: string }).failure === 'checksum' ? err : new RestorePlaceError('beside', dir, err);
      });
    }
    await (async () => {
      if (req.compression) await decompressFile(req.backupFile, staged, req.compression);
      else if (!req.assemble) await fs.copyFile(req.backupFile, staged, fsc.COPYFILE_EXCL);
      // The restored file keeps the live file's owner and mode, not the backup's 0600.
      if (live) {
        await fs.chmod(staged, live.mode & 0o7777);
        if (process.getuid?.() === 0) await fs.chown(staged, live.uid, live.gid);
      }
      await fsyncPath(staged);
    })().catch(beside);
    const liveMode = live ? (await headerOf(target)).journalMode : undefined;
    // Checking the staged copy checks the backup too: if its sha256 matches, they are the same bytes.
    // The live database is only touched (its -wal folded in, to keep it) once the sha256 has matched,
    // so a damaged backup is refused with the live database exactly as it was.
    const checking = engine.verifyFile(staged, req.level);
    checking.catch(() => undefined); // awaited below; this only keeps an early rejection from going unhandled
    const actual = assembled ?? (await sha256File(staged));
    if (actual !== req.sha256) {
      await checking.catch(() => undefined);
      throw checksumMismatch(req.sha256, actual);
    }
    let keptAs: BigIntStats | undefined;
    const keeping =
      req.keepOldAt && live
        ? keepOld(engine, req.keepOldAt, req.waitMs)
            .then(async (l) => {
              linked = l;
              keptAs = await fs.stat(req.keepOldAt!, { bigint: true }); // before hashing: any later write shows
              return describeKept(engine, req.keepOldAt!, req.level, l);
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

/** Put the live database at `dest`: a hard link when nobody has it open (true), else a snapshot copy. */
async function keepOld(engine: SqliteEngine, dest: string, waitMs?: number): Promise<boolean> {
  const target = engine.location;
  const { holders, complete } = await processesHolding(target);
  // Only a file with no other name: a second name (`ln app.db alias.db`) would keep writing into the
  // kept "backup", and the swap would leave that name pointing at it.
  const single = (await fs.stat(target)).nlink === 1;
  if (single && holders.length === 0 && complete && (await foldWal(target))) {
    try {
      await fs.link(target, dest);
      if ((await fs.stat(dest)).nlink === 2) return true;
      await fs.rm(dest, { force: true }); // linked by someone else meanwhile: copy it below
    } catch {
      // another file system, or no hard links: copy it below
    }
  }
  await engine.snapshotTo(dest, { waitMs });
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
