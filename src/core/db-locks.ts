// Take the per-database locks of one operation, in a fixed order so two runs never deadlock: first the
// lock files of file engines (held in-process, or by a lock keeper that outlives a killed safe-run while
// the command lives), then the locks engines hold themselves (a server's, on the server).
import type { Socket } from 'node:net';
import type { Engine, EngineLock } from '../engines/engine.js';
import { SafeRunError } from '../errors.js';
import { acquireLock, LockBusyError, type Lock, type LockHolder } from '../lock/file-lock.js';
import { keepLocks } from '../lock/kept-locks.js';
import { BackupStore } from '../store/backup-store.js';
import { secondsText } from './seconds.js';

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
  const sorted = [...engines].sort((a, b) => a.lockKey.localeCompare(b.lockKey));
  const targets: Array<{ engine: Engine; file: string }> = [];
  for (const engine of sorted) if (engine.lockFile) targets.push({ engine, file: await engine.lockFile() });
  targets.sort((a, b) => a.file.localeCompare(b.file));
  const others = sorted.filter((e) => !e.lockFile);
  const files = targets.map((t) => t.file);
  const onWait = (file: string, holder: LockHolder | undefined) =>
    opts.onWait?.(targets.find((t) => t.file === file)?.engine.name ?? 'a database', holder, opts.waitMs);
  let held: HeldLocks;
  try {
    held = opts.outliveUntilCommandEnds ? await keepLocks(files, { ...opts, onWait }) : await lockInProcess(files, opts.purpose, opts.waitMs, onWait);
  } catch (err) {
    throw lockError(err, targets, opts.waitMs);
  }
  // Engines that hold their own lock (a server's advisory lock): after the files, in the same order for
  // every run. Such a lock is held by this process's connection, so it does not outlive a killed safe-run.
  const own: EngineLock[] = [];
  try {
    for (const engine of others) {
      own.push(await engine.lock!({ purpose: opts.purpose, waitMs: opts.waitMs, onWait: (holder) => opts.onWait?.(engine.name, holder, opts.waitMs) }));
    }
  } catch (err) {
    for (const lock of own.reverse()) await lock.release().catch(() => undefined);
    await held.release();
    throw lockError(err, targets, opts.waitMs);
  }
  // Under the locks, nothing of ours is in progress on these databases: clear what dead runs left, for
  // these databases only (a backup of another one, perhaps from another container, is never touched).
  const store = new BackupStore(storeRoot);
  await store.removeLeftovers(sorted.map((e) => e.name)).catch(() => undefined);
  for (const engine of sorted) await engine.removeLeftovers().catch(() => undefined);
  return {
    lifeline: held.lifeline,
    async release() {
      for (const lock of own.reverse()) await lock.release().catch(() => undefined);
      await held.release();
    },
  };
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
          : `waited ${secondsText(err.waitedMs)}; wait for it to finish, or give --wait with more seconds`,
    });
  }
  return new SafeRunError('locked', `cannot lock ${engine?.name ?? 'a database'}: ${(err as Error).message}`, {
    stage: 'lock',
    cause: err,
    hint: 'check that the directory of the database is writable',
  });
}
