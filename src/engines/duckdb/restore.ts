// Restoring a DuckDB file: stage and verify the backup beside it, keep the live file as it is now,
// then swap by one atomic rename, refused while any other process has the file open.
//
// The live file's `.wal` is never left beside a restored file (DuckDB would replay the run onto it):
// before anything else it is folded into the live file by a checkpoint (one file again, same content),
// so the swap is a single rename and a kill -9 at any moment leaves the old database or the new one.
// A process that keeps the replaced file open would go on reading it (duckdb#15912): hence the refusal.
import { randomBytes } from 'node:crypto';
import { promises as fs, constants as fsc, type BigIntStats } from 'node:fs';
import path from 'node:path';
import type { CheckLevel } from '../../config.js';
import { fsyncDir, fsyncPath, tempName } from '../../files/durable.js';
import { sha256File } from '../../files/sha256.js';
import type { BackupTarget, KeptDatabase, SnapshotFacts, StagedRestore, StoredSnapshot } from '../engine.js';
import { checksumMismatch, CheckFailedError, EngineError, RestorePlaceError } from '../engine-errors.js';
import { holdSignals } from '../hold-signals.js';
import { processesHolding } from '../open-handles.js';
import { OpenedMeanwhileError } from '../sqlite-swap.js';
import { openSession, type Session } from './connect.js';
import { countDifferences } from './counts.js';
import { heldError, lockHolderOf } from './lock-holder.js';
import { attachLive, COUNTS_FILE, SNAPSHOT_FILE, snapshotDuckdb } from './snapshot.js';
import { countFile, factsOf, readCountsFile, verifySnapshot } from './verify.js';

/** `waitMs`: how long to wait for other processes to close the file before refusing (0: refuse at once). */
export async function stageDuckdbRestore(target: string, snapshot: StoredSnapshot, level: CheckLevel, keepOld?: BackupTarget, waitMs = 0): Promise<StagedRestore> {
  const dir = path.dirname(target);
  const beside = (err: unknown) => {
    throw err instanceof EngineError ? err : new RestorePlaceError('beside', dir, err);
  };
  await fs.access(dir, fsc.W_OK).catch(beside);
  const staged = path.join(dir, tempName(path.basename(target)));
  const discard = async () => {
    await fs.rm(staged, { force: true });
    await fs.rm(`${staged}.wal`, { force: true });
  };
  try {
    const found = await fs.lstat(target).catch(() => undefined);
    const live = found?.isFile() ? found : undefined;
    const main = snapshot.files[0]!;
    await (async () => {
      await fs.copyFile(main.path, staged, fsc.COPYFILE_EXCL);
      if (live) await fs.chmod(staged, live.mode & 0o7777); // the live file's mode, not the backup's 0600
      await fsyncPath(staged);
    })().catch(beside);
    const actual = await sha256File(staged);
    if (actual !== main.sha256) throw checksumMismatch(main.sha256, actual);
    for (const f of snapshot.files.slice(1)) {
      const h = await sha256File(f.path);
      if (h !== f.sha256) throw checksumMismatch(f.sha256, h);
    }
    const facts = await verifySnapshot([staged, ...snapshot.files.slice(1).map((f) => f.path)], level);
    let old: KeptDatabase | undefined;
    let settled: BigIntStats | undefined;
    if (live) {
      // Refused here already when another process has it open; otherwise one file from now on.
      await whenNotHeld(target, waitMs);
      await foldLiveWal(target);
      settled = await fs.stat(target, { bigint: true });
      if (keepOld) old = await keep(target, keepOld, level);
    }
    return { facts, old, swap: () => swapIn(target, staged, facts, settled), discard };
  } catch (err) {
    await discard();
    throw err;
  }
}

/** Refuse while another process holds the file; else checkpoint its `.wal` into it (DuckDB's own open does). */
async function foldLiveWal(target: string): Promise<void> {
  await refuseHolders(target);
  if (!(await exists(`${target}.wal`))) return;
  let session;
  try {
    session = await openSession(target);
  } catch (err) {
    const holder = lockHolderOf(err);
    if (holder) throw heldError(target, holder, 'replace it', 0);
    throw err;
  }
  try {
    await session.conn.run('CHECKPOINT');
  } finally {
    session.close(); // a clean close removes the .wal
  }
  if (await exists(`${target}.wal`)) throw new EngineError('busy', `${target}.wal stayed after a checkpoint`, { hint: 'open the database once with DuckDB and close it, then run the same command again' });
}

/** Wait up to `waitMs` for every other process to close the file; then refuse, naming them. */
async function whenNotHeld(target: string, waitMs: number): Promise<void> {
  const started = Date.now();
  for (;;) {
    try {
      return await refuseHolders(target);
    } catch (err) {
      if (Date.now() - started >= waitMs) throw err;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

/** Every process (but this one) that has the file or its `.wal` open: a restore is refused, naming them. */
async function refuseHolders(target: string): Promise<void> {
  for (const file of [target, `${target}.wal`]) {
    const { holders, complete } = await processesHolding(file);
    const others = holders.filter((h) => h.pid !== process.pid);
    if (others.length > 0 || !complete) {
      const who = others.map((h) => `pid ${h.pid} (${h.command})`);
      throw new EngineError('held-open', `${target} is held open by ${who.join(', ') || 'a process safe-run may not inspect'}; a process that keeps the replaced file open would go on reading the old data`, {
        hint: 'stop or close those processes, then run the same command again',
        involved: who,
      });
    }
  }
}

/** The live database as it is now, copied into the store with the same snapshot a backup takes. */
async function keep(target: string, keepOld: BackupTarget, level: CheckLevel): Promise<KeptDatabase> {
  const files = [SNAPSHOT_FILE, COUNTS_FILE];
  const paths = files.map((f) => keepOld.file(f));
  try {
    await snapshotDuckdb(target, paths[0]!, paths[1]!, { waitMs: 0 });
  } catch (err) {
    if (err instanceof EngineError) throw err;
    throw new RestorePlaceError('store', path.dirname(paths[0]!), err);
  }
  const hashes = await Promise.all(paths.map(async (p) => ({ sha256: await sha256File(p), size: (await fs.stat(p)).size })));
  const checked = await verifySnapshot(paths, level).then(
    (facts) => ({ facts, verified: true }),
    async (err: unknown) => ({ facts: { ...factsOf((await readCountsFile(paths)).tables, level), check: { level, result: String((err as Error).message) } } as SnapshotFacts, verified: false }),
  );
  return { how: 'copy', output: { files }, hashes, ...checked };
}

/**
 * The swap: with DuckDB's shared lock on the live file held (so no writer can open it meanwhile),
 * check that nobody has it open and nothing changed since it was kept, then rename the staged copy
 * over it. The old file stays linked aside until the restored one has opened and counted right.
 */
async function swapIn(target: string, staged: string, facts: SnapshotFacts, settled: BigIntStats | undefined) {
  const dir = path.dirname(target);
  const release = holdSignals();
  let session: Session | undefined;
  let aside: string | undefined;
  try {
    session = await openSession(':memory:');
    if (settled) {
      await attachLive(session, target, 'live', { waitMs: 0, doing: 'replace it' }).catch((err) => {
        throw err instanceof EngineError ? err : new OpenedMeanwhileError([]);
      });
      await refuseHolders(target);
      const now = await fs.stat(target, { bigint: true }).catch(() => undefined);
      const changed = !now || now.ino !== settled.ino || now.size !== settled.size || now.mtimeNs !== settled.mtimeNs || (await exists(`${target}.wal`));
      if (changed) throw new OpenedMeanwhileError([]);
      aside = path.join(dir, `.${path.basename(target)}.aside-${process.pid}-${randomBytes(4).toString('hex')}`);
      await fs.link(target, aside);
    } else {
      await clearOrphanedWal(target);
    }
    await fs.rename(staged, target);
    await fsyncDir(dir);
    session.close(); // our shared lock was on the replaced file
    try {
      await checkRestored(target, facts);
    } catch (err) {
      if (aside) await fs.rename(aside, target);
      else await fs.rm(target, { force: true });
      aside = undefined;
      await fs.rm(`${target}.wal`, { force: true });
      await fsyncDir(dir);
      throw err;
    }
    return { method: 'rename', heldBy: [] };
  } finally {
    session?.close();
    if (aside) await fs.rm(aside, { force: true }).catch(() => undefined);
    await fs.rm(staged, { force: true }).catch(() => undefined);
    release();
  }
}

/** The database file is gone but a `.wal` may be left: it would be replayed onto the restored file. */
async function clearOrphanedWal(target: string): Promise<void> {
  await refuseHolders(target);
  await fs.rm(`${target}.wal`, { force: true });
}

/** Right after the rename: the restored file opens read-only and has the verified counts. */
async function checkRestored(target: string, facts: SnapshotFacts): Promise<void> {
  const counts = await countFile(target, 'quick');
  const expected = facts.tables.map((t) => ({ name: t.name, rows: t.rows ?? 0 }));
  const differences = countDifferences(counts, expected);
  if (differences.length) throw new CheckFailedError(differences.join('; '), 'the restored file did not check out; the database was put back');
}

async function exists(p: string): Promise<boolean> {
  return fs.stat(p).then(
    () => true,
    () => false,
  );
}
