// Turn what the user typed (an id prefix, or "last") into a run or a backup, with git-style messages.
import { existsSync } from 'node:fs';
import { CONFIG_FILE } from '../config.js';
import type { Context } from '../core/context.js';
import { SafeRunError } from '../errors.js';
import { resolvePrefix } from '../ids.js';
import type { RunRecord } from '../oplog/run-record.js';
import type { Backup } from '../store/manifest.js';
import { clip, oneLine, when } from './render/format.js';
import { describeRun } from './render/run-summary.js';

/**
 * "last" is the newest run (the newest with backups when `withBackups`); anything else is a unique
 * prefix of a run id. With `withBackups`, a run that took no backup is a usage error saying so. A run
 * that is not found is reported with the log that was read and how it was chosen: pasted in the wrong
 * directory, "no runs yet" would read as if the backups were lost.
 */
export function pickRun(runs: RunRecord[], wanted: string, opts: { ctx: Context; verb: string; withBackups?: boolean }): RunRecord {
  const pool = opts.withBackups ? runs.filter((r) => r.backups.length > 0) : runs;
  let run: RunRecord | undefined;
  try {
    run = wanted === 'last' ? pool.at(-1) : resolvePrefix(runs, wanted, 'run', (r) => `${when(r.startedAt)}  ${clip(oneLine(describeRun(r)), 44)}`);
  } catch (err) {
    if (err instanceof SafeRunError && /^no run with id/.test(err.message)) throw notFound(`${err.message}`, wanted, opts);
    throw err;
  }
  if (!run) throw notFound(`no runs${opts.withBackups ? ' with backups' : ''}`, wanted, opts);
  if (opts.withBackups && run.backups.length === 0) {
    const why = run.backupSkipped ? `its backup was skipped: ${run.backupSkipped.reason}` : run.status;
    throw new SafeRunError('usage', `run ${run.id.slice(0, 8)} took no backups (${why})`, { hint: 'see: safe-run log' });
  }
  return run;
}

function notFound(what: string, wanted: string, opts: { ctx: Context; verb: string }): SafeRunError {
  const { ctx } = opts;
  const how = ctx.config.file
    ? `the log of ${ctx.config.file}`
    : `the default log of this directory: no ${CONFIG_FILE} in ${ctx.cwd} or above`;
  const missing = existsSync(ctx.log.file) ? '' : ', which does not exist';
  return new SafeRunError('usage', `${what} in ${ctx.log.file}${missing} (${how})`, {
    hint: `see the ids with: safe-run log; for a run made in another project, name it: safe-run -C <project dir> ${opts.verb} ${wanted} (or --config <file>)`,
  });
}

export function pickBackup(backups: Backup[], wanted: string): Backup {
  return resolvePrefix(backups, wanted, 'backup', (b) => `${b.database}  ${b.kind}  ${when(b.createdAt)}`);
}
