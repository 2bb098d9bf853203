// Take the per-database locks of one operation, in a fixed order so two runs never deadlock.
import type { Socket } from 'node:net';
import type { Engine } from '../engines/engine.js';
import { SafeRunError } from '../errors.js';
import { acquireLock, LockBusyError, type Lock, type LockHolder } from '../lock/file-lock.js';
import { keepLocks } from '../lock/kept-locks.js';
import { BackupStore } from '../store/backup-store.js';

export interface LockOptions {
  purpose: string;
  waitMs: number;
  onWait?: (database: string, holder: LockHolder | undefined, waitMs: number) => void;
  /**
   * Hold the locks in a lock keeper process that keeps them, should safe-run be killed, until the
   * guarded command (which gets `lifeline` as its fd 3) has ended too. For runs of a command.
   */
  outliveUntilCommandEnds?: boolean;
}

export interface HeldLocks {
  /** With outliveUntilCommandEnds: the descriptor to hand to the command. */
  lifeline?: Socket;
  release(): Promise<void>;
}

export async function lockDatabases(engines: Engine[], storeRoot: string, opts: LockOptions): Promise<HeldLocks> {
  const targets = await Promise.all(engines.map(async (e) => ({ engine: e, file: await e.lockFile() })));
  targets.sort((a, b) => a.file.localeCompare(b.file));
  const files = targets.map((t) => t.file);
  const onWait = (file: string, holder: LockHolder | undefined) =>
    opts.onWait?.(targets.find((t) => t.file === file)?.engine.name ?? 'a database', holder, opts.waitMs);
  let held: HeldLocks;
  try {
    held = opts.outliveUntilCommandEnds ? await keepLocks(files, { ...opts, onWait }) : await lockInProcess(files, opts.purpose, opts.waitMs, onWait);
  } catch (err) {
    throw lockError(err, targets, opts.waitMs);
  }
  // Under the locks, nothing of ours is in progress on these databases: clear what dead runs left, for
  // these databases only (a backup of another one, perhaps from another container, is never touched).
  const store = new BackupStore(storeRoot);
  await store.removeLeftovers(targets.map((t) => t.engine.name)).catch(() => undefined);
  for (const { engine } of targets) await engine.removeLeftovers().catch(() => undefined);
  return held;
}

async function lockInProcess(files: string[], purpose: string, waitMs: number, onWait: (file: string, holder?: LockHolder) => void): Promise<HeldLocks> {
  const held: Lock[] = [];
  const release = async () => {
    for (const lock of held.splice(0).reverse()) await lock.release();
  };
  try {
    for (const file of files) held.push(await acquireLock(file, { purpose, waitMs, onWait: (holder) => onWait(file, holder) }));
  } catch (err) {
    await release();
    throw Object.assign(err as Error, { file: (err as { file?: string }).file ?? files[held.length] });
  }
  return { release };
}

function lockError(err: unknown, targets: Array<{ engine: Engine; file: string }>, waitMs: number): SafeRunError {
  if (err instanceof SafeRunError) return err;
  const engine = targets.find((t) => t.file === (err as { file?: string }).file)?.engine;
  if (err instanceof LockBusyError) {
    const who = err.holder
      ? `pid ${err.holder.pid} on ${err.holder.host} (${err.holder.purpose}, since ${err.holder.startedAt})`
      : 'another process';
    return new SafeRunError('locked', `${engine?.name ?? 'a database'} is locked by ${who}`, {
      stage: 'lock',
      database: engine?.name,
      hint:
        waitMs === 0
          ? 'wait for it to finish, or drop --no-wait to wait up to 30 s'
          : `waited ${Math.round(err.waitedMs / 1000)} s; wait for it to finish, or give --wait with more seconds`,
    });
  }
  return new SafeRunError('locked', `cannot lock ${engine?.name ?? 'a database'}: ${(err as Error).message}`, {
    stage: 'lock',
    cause: err,
    hint: 'check that the directory of the database is writable',
  });
}
