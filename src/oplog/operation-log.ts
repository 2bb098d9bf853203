// The operation log: lowdb over a durable adapter, every change made under a cross-process lock.
import { Low } from 'lowdb';
import os from 'node:os';
import path from 'node:path';
import { SafeRunError } from '../errors.js';
import { ensurePrivateDir, processIsAlive } from '../files/durable.js';
import { acquireLock, LockBusyError } from '../lock/file-lock.js';
import { DurableJsonFile } from './durable-adapter.js';
import type { LogData, RunRecord } from './run-record.js';

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
    return validate(db.data, this.file);
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
    await ensurePrivateDir(path.dirname(this.file));
    let lock;
    try {
      lock = await acquireLock(`${this.file}.lock`, { purpose: 'operation log update', waitMs: 60_000, pollMs: 10 });
    } catch (err) {
      if (err instanceof LockBusyError) {
        throw new SafeRunError('log', `the operation log ${this.file} stayed locked for a minute`, {
          stage: 'log',
          hint: `another safe-run (pid ${err.holder?.pid ?? '?'}) is writing it; try again`,
        });
      }
      throw err;
    }
    try {
      const db = this.low();
      await db.read();
      db.data = validate(db.data, this.file);
      const result = change(db.data);
      await db.write();
      return result;
    } finally {
      await lock.release();
    }
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
      else data.runs.push({ ...(fields as RunRecord), id });
    });
  }
}

function validate(data: unknown, file: string): LogData {
  const d = data as LogData | null;
  if (!d || typeof d !== 'object' || !Array.isArray(d.runs)) {
    throw new SafeRunError('log', `the operation log ${file} is not a safe-run log (no "runs" list); it was left as it is`, {
      stage: 'log',
      hint: 'point logFile in the config elsewhere, or move the file aside',
    });
  }
  return d;
}

function withLiveness(run: RunRecord): RunRecord {
  if (run.status === 'running' && run.host === os.hostname() && !processIsAlive(run.pid)) {
    return { ...run, status: 'interrupted' };
  }
  return run;
}
