// Pinned backups: `<store>/pins.json`, { backupId: { at, reason } }, changed under a lock, written atomically.
//
// Why a file of its own rather than a field in each manifest: a manifest is written once, when its backup
// is sealed, and is what a restore checks against the log; pinning never rewrites it. Retention reads
// every pin with one read. Pin and unpin change the file under a lock of its own; a prune takes no such
// lock (its lock file would be one more write on a store whose disk is full, when pruning matters most):
// it re-reads the pins just before each removal, and `pin` checks afterwards that its backup is still
// listed.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { SafeRunError } from '../errors.js';
import { ensurePrivateDir, writeFileAtomic } from '../files/durable.js';
import { acquireLock, LockBusyError, type Lock } from '../lock/file-lock.js';

export interface Pin {
  at: string;
  reason?: string;
}

export type Pins = Record<string, Pin>;

export class PinFile {
  readonly file: string;
  constructor(storeRoot: string) {
    this.file = path.join(storeRoot, 'pins.json');
  }

  /** The pins; none when the file does not exist. A file that does not parse is an error, never reset. */
  async read(): Promise<Pins> {
    let text: string;
    try {
      text = await fs.readFile(this.file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {};
      throw unreadable(this.file, (err as Error).message);
    }
    try {
      const data = JSON.parse(text) as { pins?: Pins };
      if (!data || typeof data.pins !== 'object' || data.pins === null) throw new Error('no "pins" object');
      return data.pins;
    } catch (err) {
      throw unreadable(this.file, (err as Error).message);
    }
  }

  private async lock(waitMs = 60_000): Promise<Lock> {
    await ensurePrivateDir(path.dirname(this.file));
    try {
      return await acquireLock(`${this.file}.lock`, { purpose: 'pins', waitMs, pollMs: 20 });
    } catch (err) {
      if (err instanceof LockBusyError) {
        throw new SafeRunError('locked', `the pins of ${path.dirname(this.file)} are locked by pid ${err.holder?.pid ?? '?'} (${err.holder?.purpose ?? 'another safe-run'})`, {
          hint: 'a prune is removing backups; try again when it is done',
        });
      }
      throw err;
    }
  }

  /** Change the pins under the lock, re-read inside it; resolves to what `change` returns. */
  async update<R>(change: (pins: Pins) => R): Promise<R> {
    const lock = await this.lock();
    try {
      const pins = await this.read();
      const result = change(pins);
      await writeFileAtomic(this.file, JSON.stringify({ version: 1, pins }, null, 2) + '\n');
      return result;
    } finally {
      await lock.release();
    }
  }
}

function unreadable(file: string, why: string): SafeRunError {
  return new SafeRunError('log', `cannot read the pins ${file}: ${why}; it was left as it is`, {
    hint: 'repair the file or move it aside (every pin is then forgotten: prune with --dry-run first)',
  });
}
