// A consistent, self-contained copy of a live DuckDB file, taken while DuckDB's own lock keeps every
// other process from writing to it.
//
// DuckDB lets one process write a file, or many read it, never both. With the file ATTACHed READ_ONLY
// this process holds DuckDB's shared lock: no writer can open it until we let go, so the file and its
// `.wal` (committed transactions a crashed or still-open writer left there) stay exactly as they are
// while they are copied. The copy is then opened read-write on its own, which replays the copied WAL
// into it, and checkpointed: one file, nothing needed beside it. This is a plain file copy (0.15 s
// where COPY FROM DATABASE takes 3 s for 200 MB, FIELD-NOTES), keeps everything the file holds (keys,
// foreign keys, sequences, macros), and cannot fail on the order of foreign keys as COPY FROM DATABASE
// does. The row counts of the source are taken under the same lock, for verification.
import { promises as fs, constants as fsc } from 'node:fs';
import { fsyncPath } from '../../files/durable.js';
import { EngineError } from '../engine-errors.js';
import { processesHolding } from '../open-handles.js';
import { ident, isWalReplayFailure, literal, openSession, type Session } from './connect.js';
import { countTables, type TableCount } from './counts.js';
import { heldError, lockHolderOf } from './lock-holder.js';

export const SNAPSHOT_FILE = 'snapshot.duckdb';
export const COUNTS_FILE = 'counts.json';

/** What counts.json says beside a snapshot. */
export interface CountsFile {
  tables: TableCount[];
  /** 'read-write' when the source's WAL could only be replayed by a writable open (it held CREATE INDEX). */
  opened: 'read-only' | 'read-write';
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * ATTACH the live file as `alias` in `session`, READ_ONLY when DuckDB can (a WAL holding CREATE INDEX
 * cannot be replayed read-only: then read-write, which needs and takes the exclusive lock). While
 * another process holds the file, tries again until `waitMs` has passed, then rejects naming it.
 */
export async function attachLive(session: Session, file: string, alias: string, opts: { waitMs: number; doing: string; onBusy?: (waitMs: number) => void }): Promise<'read-only' | 'read-write'> {
  await refuseOwnHandle(file);
  const started = Date.now();
  let announced = false;
  for (let mode: 'read-only' | 'read-write' = 'read-only'; ; ) {
    try {
      await session.conn.run(`ATTACH ${literal(file)} AS ${ident(alias)}${mode === 'read-only' ? ' (READ_ONLY)' : ''}`);
      return mode;
    } catch (err) {
      if (mode === 'read-only' && isWalReplayFailure(err)) {
        mode = 'read-write';
        continue;
      }
      const holder = lockHolderOf(err);
      if (!holder) throw err;
      const waited = Date.now() - started;
      if (waited >= opts.waitMs) throw heldError(file, holder, opts.doing, waited);
      if (!announced) {
        announced = true;
        opts.onBusy?.(opts.waitMs);
      }
      await sleep(Math.min(200, opts.waitMs - waited));
    }
  }
}

/**
 * DuckDB's lock is per process: a second instance in this process (a library user's own connection)
 * would not be kept out by it, and two instances on one file in one process corrupt it. Refuse instead.
 */
async function refuseOwnHandle(file: string): Promise<void> {
  const { holders } = await processesHolding(file);
  if (holders.some((h) => h.pid === process.pid)) {
    throw new EngineError('held-open', `${file} is already open in this process`, {
      hint: 'close your own DuckDB instance of this file before safe-run backs it up or restores it',
    });
  }
}

/** Write the snapshot of `file` to `dest` (which must not exist) and the source's counts to `countsDest`. */
export async function snapshotDuckdb(file: string, dest: string, countsDest: string, opts: { waitMs: number; onBusy?: (waitMs: number) => void }): Promise<CountsFile> {
  await fs.access(file, fsc.R_OK);
  const session = await openSession(':memory:');
  let described: CountsFile;
  try {
    const opened = await attachLive(session, file, 'src', { waitMs: opts.waitMs, doing: 'read it for a backup', onBusy: opts.onBusy });
    if (opened === 'read-write') await session.conn.run('CHECKPOINT src'); // fold the WAL it replayed
    const tables = await countTables(session.conn, 'src');
    await fs.copyFile(file, dest, fsc.COPYFILE_EXCL);
    const walSize = await fs.stat(`${file}.wal`).then((s) => s.size).catch(() => 0);
    if (walSize > 0) await fs.copyFile(`${file}.wal`, `${dest}.wal`, fsc.COPYFILE_EXCL);
    described = { tables, opened };
  } finally {
    session.close(); // lets writers in again
  }
  await foldCopy(dest);
  await fs.writeFile(countsDest, JSON.stringify(described, null, 2) + '\n', { mode: 0o600, flag: 'wx' });
  await fsyncPath(countsDest);
  return described;
}

/** Replay a copied WAL into the copy and checkpoint it, leaving one private, fsynced file. */
async function foldCopy(dest: string): Promise<void> {
  await fs.chmod(dest, 0o600);
  if (await fs.stat(`${dest}.wal`).then(() => true, () => false)) {
    const copy = await openSession(dest);
    try {
      await copy.conn.run('CHECKPOINT');
    } finally {
      copy.close();
    }
    await fs.rm(`${dest}.wal`, { force: true });
  }
  await fsyncPath(dest);
}
