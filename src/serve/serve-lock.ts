// One safe-run serve per backup store: a second one would take every startup, scheduled and shutdown
// backup twice (and prune twice as often). The lock is the kernel's (see lock/file-lock.ts): it is free
// again the moment its serve exits, however it exits.
import path from 'node:path';
import { SafeRunError } from '../errors.js';
import { ensurePrivateDir } from '../files/durable.js';
import { acquireLock, LockBusyError, type Lock } from '../lock/file-lock.js';

/**
 * Take the store's serve lock, or throw a `locked` error naming the serve that holds it. A store that
 * cannot be written gives no lock and no error: serve still starts and says what it found there.
 */
export async function lockServe(storeRoot: string): Promise<Lock | undefined> {
  // A dot name: the store's listings skip it, as they skip everything that is not a database's folder.
  const file = path.join(storeRoot, '.serve.lock');
  try {
    await ensurePrivateDir(storeRoot);
    return await acquireLock(file, { purpose: 'safe-run serve', waitMs: 0 });
  } catch (err) {
    if (!(err instanceof LockBusyError)) return undefined;
    const who = err.holder ? `pid ${err.holder.pid} on ${err.holder.host}, since ${err.holder.startedAt}` : 'another process';
    throw new SafeRunError('locked', `serve: another safe-run serve (${who}) already backs up the databases of the store ${storeRoot}`, {
      hint: 'stop that one first (SIGTERM), or give this project another "backupDir"',
    });
  }
}
