// One safe-run serve per database in a backup store: a second one would take every startup, scheduled and
// shutdown backup twice (and prune twice as often). Per database, not per store: projects that share a
// backupDir but not their databases each run their own serve. The locks are the kernel's (see
// lock/file-lock.ts): free again the moment their serve exits, however it exits.
import path from 'node:path';
import { SafeRunError } from '../errors.js';
import { ensurePrivateDir } from '../files/durable.js';
import { acquireLock, LockBusyError, type Lock } from '../lock/file-lock.js';

/**
 * Take the serve lock of each database (at the store's top, `.serve-<database>.lock`: a dot name that the
 * store's listings skip, and outside the database's folder, where hidden entries are backups being
 * written), or throw a `locked` error naming the serve that holds one. A store that cannot be
 * written gives no lock and no error: serve still starts and says what it found there.
 */
export async function lockServe(storeRoot: string, databases: string[]): Promise<{ release(): Promise<void> }> {
  const held: Lock[] = [];
  const release = async () => {
    for (const lock of held.splice(0).reverse()) await lock.release();
  };
  for (const database of [...databases].sort()) {
    try {
      await ensurePrivateDir(storeRoot);
      held.push(await acquireLock(path.join(storeRoot, `.serve-${database}.lock`), { purpose: 'safe-run serve', waitMs: 0 }));
    } catch (err) {
      if (!(err instanceof LockBusyError)) continue;
      await release();
      const who = err.holder ? `pid ${err.holder.pid} on ${err.holder.host}, since ${err.holder.startedAt}` : 'another process';
      throw new SafeRunError('locked', `serve: another safe-run serve (${who}) already backs up ${database} (store ${storeRoot})`, {
        database,
        hint: 'stop that one first (SIGTERM), or leave this database out with --db',
      });
    }
  }
  return { release };
}
