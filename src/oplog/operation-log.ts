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
import { archiveOldRuns } from './archive.js';
import { mergeRuns, readSegment, totalRuns } from './segments.js';
import { isRunRecord, validateLog } from './validate-log.js';

const emptyLog = (): LogData => ({ version: 1, runs: [] });

export class OperationLog {
  constructor(readonly file: string) {}

  private low(durable = true): Low<LogData> {
    return new Low<LogData>(new DurableJsonFile<LogData>(this.file, { durable }), emptyLog());
  }

  /**
   * Read the active file: the recent runs and the list of segments (no lock: the file is replaced
   * atomically, so a read sees one whole version). Segments are read by `runs` and `newest` only.
   */
  async read(): Promise<LogData> {
    const db = this.low();
    await db.read();
    return validateLog(db.data, this.file);
  }

  /**
   * All runs, segments included, oldest first, with a "running" run whose safe-run died shown as
   * "interrupted". For what needs the whole history: an id prefix (unique among all runs), show,
   * rollback, restore's checks, retention.
   */
  async runs(): Promise<RunRecord[]> {
    return this.runsSince('');
  }

  /**
   * The runs that may have started at or after `since` (an ISO time), oldest first: the active file and
   * the segments whose newest run is not older. For what only needs recent history, such as retention,
   * which looks for the runs that refer to backups still in the store.
   */
  async runsSince(since: string): Promise<RunRecord[]> {
    const data = await this.read();
    const parts: RunRecord[][] = [];
    for (const entry of data.archived ?? []) if (entry.to >= since) parts.push(await readSegment(this.file, entry));
    parts.push(data.runs);
    return mergeRuns(parts).map(withLiveness);
  }

  /**
   * The newest runs that `keep` accepts, at least `count` of them when the log has that many, oldest
   * first, reading segments from the newest back only until enough are found: `safe-run log` costs the
   * same with a long history. `complete` says whether every run was looked at, `ids` are those of every
   * run read (kept or not), `total` counts all runs. Segments whose runs all started before `notBefore`
   * (an ISO time) hold nothing `keep` wants and are not read.
   */
  async newest(
    count: number,
    keep: (run: RunRecord) => boolean = () => true,
    notBefore = '',
  ): Promise<{ runs: RunRecord[]; ids: string[]; total: number; complete: boolean }> {
    const data = await this.read();
    const archived = data.archived ?? [];
    const parts: RunRecord[][] = [data.runs];
    let next = archived.length - 1;
    // Counted as each segment comes in (its runs not already seen in a newer file), merged once at the end.
    const seen = new Set<string>();
    let kept = 0;
    const countNew = (runs: RunRecord[]) => {
      for (const run of [...runs].reverse()) {
        if (seen.has(run.id)) continue;
        seen.add(run.id);
        if (keep(withLiveness(run))) kept++;
      }
    };
    countNew(data.runs);
    const useful = () => next >= 0 && archived[next]!.to >= notBefore;
    while (kept < count && useful()) {
      const segment = await readSegment(this.file, archived[next--]!);
      parts.unshift(segment);
      countNew(segment);
    }
    const read = mergeRuns(parts).map(withLiveness);
    const found = read.filter(keep);
    return { runs: found, ids: read.map((r) => r.id), total: totalRuns(data), complete: !useful() };
  }

  /**
   * Change the log: lock, re-read inside the lock, apply `change`, write. lowdb alone would lose one of
   * two concurrent read-modify-writes; the lock and the re-read make each change see the one before.
   */
  async update<R>(change: (data: LogData) => R, opts: { durable?: boolean } = {}): Promise<R> {
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
      const db = this.low(opts.durable ?? true);
      await db.read();
      db.data = validateLog(db.data, this.file);
      const result = change(db.data);
      await archiveOldRuns(this.file, db.data);
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

  /**
   * Add a run. `durable: false` skips the fsyncs (the write is still atomic, and is in the file for every
   * reader and after a kill -9 at once): for a record that a durable patch rewrites before anything it
   * stands for happens, as a guarded run's opening record is rewritten with its backups before its
   * command starts. A power cut in between may lose the record; it stood for nothing yet.
   */
  async append(record: RunRecord, opts: { durable?: boolean } = {}): Promise<void> {
    await this.update((data) => {
      data.runs.push(record);
    }, opts);
  }

  async patch(id: string, fields: Partial<RunRecord>): Promise<void> {
    await this.update((data) => {
      const run = data.runs.find((r) => r.id === id);
      if (run) Object.assign(run, fields);
      // The log was moved aside meanwhile: a whole record starts the new one, a fragment would damage it.
      // A run is never archived while its process lives (archive.ts), so this is not an archived run;
      // were it one, the whole record written again here wins over the segment's copy on every read.
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
