// A lowdb adapter that writes durably and never resets a log it cannot parse.
import type { Adapter } from 'lowdb';
import { promises as fs } from 'node:fs';
import { SafeRunError } from '../errors.js';
import { writeFileAtomic } from '../files/durable.js';

/**
 * lowdb's own JSONFile writes through steno: one fixed temp name per target (two processes collide on
 * it) and no fsync. This one writes a uniquely named temp file, fsyncs it and the directory, renames.
 * A missing file reads as null (lowdb then starts from the default); a file that does not parse is an
 * error, so nobody ever overwrites a damaged log with an empty one.
 */
export class DurableJsonFile<T> implements Adapter<T> {
  /** `durable: false` writes the same way (temp file, rename) without the fsyncs: see OperationLog.append. */
  constructor(
    readonly file: string,
    private readonly opts: { durable?: boolean } = {},
  ) {}

  async read(): Promise<T | null> {
    let text: string;
    try {
      text = await fs.readFile(this.file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw new SafeRunError('log', `cannot read the operation log ${this.file}: ${(err as Error).message}`, {
        stage: 'log',
        cause: err,
        hint: 'check the permissions of the file and its directory',
      });
    }
    try {
      return JSON.parse(text) as T;
    } catch (err) {
      throw new SafeRunError('log', `the operation log ${this.file} is not valid JSON; it was left as it is`, {
        stage: 'log',
        cause: err,
        hint: `repair the file or move it aside (safe-run starts a new log then); backups in the store are unaffected`,
      });
    }
  }

  async write(data: T): Promise<void> {
    await writeFileAtomic(this.file, JSON.stringify(data, null, 1) + '\n', { durable: this.opts.durable ?? true });
  }
}
