// The operation log: lowdb over a durable adapter, every change made under a cross-process lock.
import { Low } from 'lowdb';
import { promises as fs, constants as fsc } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describeCause, SafeRunError } from '../errors.js';
import { ensurePrivateDir, processIsAlive } from '../files/durable.js';
import { acquireLock, LockBusyError } from '../lock/file-lock.js';
import { DurableJsonFile } from './durable-adapter.js';
import type { LogData, RunRecord } from './run-record.js';
import { isRunRecord, validateLog } from './validate-log.js';

const emptyLog = (): LogData => ({ version: 1, runs: [] });

export class OperationLog {
  constructor(readonly file: string) {}

  private low(): Low<LogData> {
    return new Low<LogData>(new DurableJsonFile<LogData>(this.file), emptyLog());
  }

  /** Read the whole log (no lock: the file is replaced atomically, so a read sees one whole version). */
  async read(): Promise<LogData> {
    const db = this.low();
    await db.read();
    return validateLog(db.data, this.file);
  }

  /** All runs, oldest first, with a "running" run whose safe-run died shown as "interrupted". */
  async runs(): Promise<RunRecord[]> {
    return (await this.read()).runs.map(withLiveness);
  }

  /**
   * Change the log: lock, re-read inside the lock, apply `change`, write. lowdb alone would lose one of
   * two concurrent read-modify-writes; the lock and the re-read make each change see the one before.
   */
  async update<R>(change: (data: LogData) => R): Promise<R> {
    let lock;
    try {
      await ensurePrivateDir(path.dirname(this.file));
      // Said plainly here: SQLite (under the lock) would only say "unable to open the database file".
      await fs.access(path.dirname(this.file), fsc.W_OK);
      lock = await acquireLock(`${this.file}.lock`, { purpose: 'operation log update', waitMs: 60_000, pollMs: 10 });
    } catch (err) {
      if (err instanceof LockBusyError) {
        throw new SafeRunError('log', `the operation log ${this.file} stayed locked for a minute`, {
          stage: 'log',
          hint: `another safe-run (pid ${err.holder?.pid ?? '?'}) is writing it; try again`,
        });
      }
      throw this.writeError(err);
    }
    try {
      const db = this.low();
      await db.read();
      db.data = validateLog(db.data, this.file);
      const result = change(db.data);
      await db.write().catch((err) => {
        throw this.writeError(err);
      });
      return result;
    } finally {
      await lock.release();
    }
  }

  /** A failed write of the log as one line that says where and why (a full disk, a read-only directory). */
  private writeError(err: unknown): SafeRunError {
    if (err instanceof SafeRunError) return err;
    return new SafeRunError('log', `cannot write the operation log ${this.file}: ${describeCause(err)}`, {
      stage: 'log',
      cause: err,
      hint: `make ${path.dirname(this.file)} writable and give it free space, or set "logFile" in the config`,
    });
  }

  async append(record: RunRecord): Promise<void> {
    await this.update((data) => {
      data.runs.push(record);
    });
  }

  async patch(id: string, fields: Partial<RunRecord>): Promise<void> {
    await this.update((data) => {
      const run = data.runs.find((r) => r.id === id);
      if (run) Object.assign(run, fields);
      // The log was moved aside meanwhile: a whole record starts the new one, a fragment would damage it.
      else if (isRunRecord({ ...fields, id })) data.runs.push({ ...(fields as RunRecord), id });
    });
  }
}

function withLiveness(run: RunRecord): RunRecord {
  if (run.status === 'running' && run.host === os.hostname() && !processIsAlive(run.pid)) {
    return { ...run, status: 'interrupted' };
  }
  return run;
}
