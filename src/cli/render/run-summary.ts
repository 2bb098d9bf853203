// How a run reads in one line: its command, its exit status, whether it counts as a failure.
import { shellJoin } from '../../core/shell-quote.js';
import { isOwnCommand, type RunRecord } from '../../oplog/run-record.js';
import type { Paint } from './colour.js';

/** Did not succeed: a non-zero exit, a signal, stopped before the command, or safe-run itself killed. */
export function isFailure(r: RunRecord): boolean {
  if (r.status === 'failed' || r.status === 'aborted' || r.status === 'interrupted') return true;
  return Boolean(r.signal) || (r.exitCode !== undefined && r.exitCode !== null && r.exitCode !== 0);
}

/** The command as it could be typed again; backups and restores as the safe-run command that made them. */
export function describeRun(r: RunRecord): string {
  if (isOwnCommand(r)) return shellJoin(['safe-run', ...r.argv]);
  return shellJoin(r.argv);
}

/** The exit status in a few columns, coloured: green 0, red failures, yellow unfinished. */
export function exitStatus(r: RunRecord, c: Paint): string {
  switch (r.status) {
    case 'running':
      return c.yellow('running');
    case 'interrupted':
      return c.yellow('killed');
    case 'aborted':
      return c.red('abort');
    default:
      if (r.signal) return c.red(r.signal);
      return r.exitCode === 0 ? c.green('0') : c.red(String(r.exitCode ?? '?'));
  }
}
