// Turn what the user typed (an id prefix, or "last") into a run or a backup, with git-style messages.
import { SafeRunError } from '../errors.js';
import { resolvePrefix } from '../ids.js';
import type { RunRecord } from '../oplog/run-record.js';
import type { Backup } from '../store/manifest.js';
import { clip, oneLine, when } from './render/format.js';
import { describeRun } from './render/run-summary.js';

/**
 * "last" is the newest run (the newest with backups when `withBackups`); anything else is a unique
 * prefix of a run id. With `withBackups`, a run that took no backup is a usage error saying so.
 */
export function pickRun(runs: RunRecord[], wanted: string, opts: { logFile: string; withBackups?: boolean }): RunRecord {
  const pool = opts.withBackups ? runs.filter((r) => r.backups.length > 0) : runs;
  const run =
    wanted === 'last'
      ? pool.at(-1)
      : resolvePrefix(runs, wanted, 'run', (r) => `${when(r.startedAt)}  ${clip(oneLine(describeRun(r)), 44)}`);
  if (!run) {
    throw new SafeRunError('usage', `there are no runs${opts.withBackups ? ' with backups' : ''} yet in ${opts.logFile}`, {
      hint: 'guard a command first: safe-run -- <command>',
    });
  }
  if (opts.withBackups && run.backups.length === 0) {
    throw new SafeRunError('usage', `run ${run.id.slice(0, 8)} took no backups (${run.status})`, { hint: 'see: safe-run log' });
  }
  return run;
}

export function pickBackup(backups: Backup[], wanted: string): Backup {
  return resolvePrefix(backups, wanted, 'backup', (b) => `${b.database}  ${b.kind}  ${when(b.createdAt)}`);
}
