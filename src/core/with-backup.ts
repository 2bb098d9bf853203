// withBackup: the guard of the CLI around a function of the caller's.
import { loadConfig, selectDatabases, type DatabaseConfig } from '../config.js';
import type { RunRecord } from '../oplog/run-record.js';
import { createContext } from './context.js';
import { guard } from './guard.js';

export interface WithBackupOptions {
  /** Names from the config, SQLite paths, or { name, url }; default: every database of the config. */
  databases?: Array<string | DatabaseConfig>;
  /** Recorded with the run and its backups. */
  reason?: string;
  /** Restore the backups taken before `fn` when it throws. */
  rollbackOnError?: boolean;
  /** A config file; default: found by walking up from `cwd`. */
  config?: string;
  /** Where relative paths resolve and the config is looked for; default process.cwd(). */
  cwd?: string;
  /** How long to wait for another safe-run's lock, in ms; default 30 000. */
  waitMs?: number;
}

export type WithBackupResult<T> = RunRecord & { result: T };

/**
 * Take a verified backup of the databases, run `fn`, and log it like a guarded CLI run. Resolves to the
 * run record with `fn`'s result. If a backup fails, `fn` never runs and a SafeRunError is thrown. If `fn`
 * throws, the run is logged as failed, its backups are restored when `rollbackOnError` is set, and the
 * error is rethrown with the record as `error.run`.
 */
export async function withBackup<T>(options: WithBackupOptions, fn: () => Promise<T> | T): Promise<WithBackupResult<T>> {
  const cwd = options.cwd ?? process.cwd();
  const config = loadConfig(cwd, options.config);
  const ctx = createContext(config, cwd, config.file);
  const selectors = (options.databases ?? []).filter((d): d is string => typeof d === 'string');
  const explicit = (options.databases ?? []).filter((d): d is DatabaseConfig => typeof d !== 'string');
  const databases =
    options.databases === undefined ? config.databases : [...selectDatabases(config, cwd, selectors), ...explicit];
  let result: T | undefined;
  let thrown: unknown;
  const outcome = await guard(
    ctx,
    {
      databases,
      argv: [options.reason ?? fn.name ?? 'withBackup'],
      kind: 'library',
      reason: options.reason,
      waitMs: options.waitMs ?? 30_000,
      rollbackOnFailure: options.rollbackOnError ?? false,
      // The library prints nothing, but a run without a backup must not pass unnoticed: a process
      // warning (stderr unless the application handles 'warning' events), besides the log's record.
      onEvent: (e) => {
        if (e.type === 'backup-skipped') process.emitWarning(`safe-run: no backup of ${e.databases.join(', ')}: backups are switched off (${e.reason})`, { code: 'SAFE_RUN_NO_BACKUP' });
      },
    },
    async () => {
      try {
        result = await fn();
        return { ok: true, exitCode: 0, signal: null };
      } catch (err) {
        thrown = err;
        return { ok: false, exitCode: 1, signal: null, error: err instanceof Error ? err.message : String(err) };
      }
    },
  );
  if (thrown !== undefined) {
    if (thrown && typeof thrown === 'object') Object.assign(thrown, { run: outcome.record });
    throw thrown;
  }
  return { ...outcome.record, result: result as T };
}
