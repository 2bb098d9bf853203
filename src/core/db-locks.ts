// Take the per-database locks of one operation, in a fixed order so two runs never deadlock.
import type { Engine } from '../engines/engine.js';
import { SafeRunError } from '../errors.js';
import type { EngineLock } from '../engines/engine.js';
import { LockBusyError, type LockHolder } from '../lock/file-lock.js';
import path from 'node:path';
import { secondsText } from './seconds.js';

export interface LockOptions {
  purpose: string;
  waitMs: number;
  onWait?: (database: string, holder: LockHolder | undefined, waitMs: number) => void;
}

export interface HeldLocks {
  release(): Promise<void>;
}

export async function lockDatabases(engines: Engine[], storeRoot: string, opts: LockOptions): Promise<HeldLocks> {
  const fallbackDir = path.join(storeRoot, '.locks');
  const targets = [...engines].sort((a, b) => a.lockKey.localeCompare(b.lockKey)).map((engine) => ({ engine }));
  const held: EngineLock[] = [];
  const releaseAll = async () => {
    for (const lock of held.reverse()) await lock.release();
  };
  try {
    for (const { engine } of targets) {
      held.push(
        await engine.lock({
          purpose: opts.purpose,
          waitMs: opts.waitMs,
          fallbackDir,
          onWait: (holder) => opts.onWait?.(engine.name, holder, opts.waitMs),
        }),
      );
    }
  } catch (err) {
    await releaseAll();
    // An engine that explains its own lock failure (a server naming the holding session) is heard as is.
    if (err instanceof SafeRunError) throw err;
    if (err instanceof LockBusyError) {
      const engine = targets[held.length]?.engine;
      const who = err.holder
        ? `pid ${err.holder.pid} on ${err.holder.host} (${err.holder.purpose}, since ${err.holder.startedAt})`
        : 'another process';
      throw new SafeRunError('locked', `${engine?.name ?? 'a database'} is locked by ${who}`, {
        stage: 'lock',
        database: engine?.name,
        hint:
          opts.waitMs === 0
            ? 'wait for it to finish, or drop --no-wait to wait up to 30 s'
            : `waited ${secondsText(err.waitedMs)}; wait for it to finish, or give --wait with more seconds`,
      });
    }
    throw new SafeRunError('locked', `cannot lock ${targets[held.length]?.engine.name ?? 'a database'}: ${(err as Error).message}`, {
      stage: 'lock',
      cause: err,
      hint: 'check that the directory of the database is writable',
    });
  }
  // Under the lock, nothing of ours is in progress on these databases: clear what dead runs left.
  for (const { engine } of targets) await engine.removeLeftovers().catch(() => undefined);
  return { release: releaseAll };
}
