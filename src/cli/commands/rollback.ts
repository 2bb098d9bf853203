// safe-run rollback <run-id>: put back the backups taken before a run (or undo a restore).
import { backupsOfRun } from '../../core/diff-run.js';
import { refusePruned } from '../../core/pruned-backups.js';
import { rollbackCommand } from '../../core/rollback-command.js';
import { pickRun } from '../pick.js';
import { SafeRunError } from '../../errors.js';
import { isOwnCommand, type RunRecord } from '../../oplog/run-record.js';
import { parse, waitMs } from '../args.js';
import { COMMAND_OPTIONS } from '../options.js';
import { paintFor } from '../render/colour.js';
import { clip, when } from '../render/format.js';
import { describeRun } from '../render/run-summary.js';
import { canPrompt, contextFrom } from '../setup.js';
import { confirmRestore, performRestore, printPreview, restorePreview, safetyLines } from './restore-flow.js';

export const help = `safe-run rollback — restore the backups taken before a run

Usage: safe-run rollback <run-id> [--yes] [--dry-run] [--json]

  <run-id>         the run's id or any unique prefix of it (see safe-run log);
                   "last" means the newest run
  --dry-run        show what would be restored and the later runs it undoes,
                   and change nothing
  --yes            do not ask; required when there is no terminal
  --force          a server database others are connected to: disconnect
                   them for the swap instead of refusing (PostgreSQL)
  --json           print the record of this rollback as JSON on stdout
  --wait SECONDS   wait this long for another safe-run's lock (default 30)
  --no-wait        fail at once if a database is locked
  --config PATH    use this config file
  -C DIR           work as if started in DIR (the project: its config, log
                   and store); printed rollback commands carry it

A rollback puts each database back as it was before the run, so it also undoes
every later run on the same databases; they are listed before it asks.
Each backup is re-verified first (a damaged one is refused with the database
untouched), the database as it is now is kept as a safety backup, and the
rollback prints the command that undoes it.
Exit codes: 0 restored (or dry run), 2 usage (unknown id, no --yes without a
terminal, not confirmed), 4 restore refused or failed (the database is as it
was; also when prune removed the run's backup: it names one to restore),
5 locked, 6 the operation log cannot be read, 130 cancelled with Ctrl-C
(nothing changed).`;

const OPTIONS = COMMAND_OPTIONS.rollback;

export async function run(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, OPTIONS, 'rollback');
  if (positionals.length !== 1) {
    throw new SafeRunError('usage', 'rollback takes one run id', { hint: 'safe-run rollback <run-id>; see the ids with: safe-run log' });
  }
  const ctx = contextFrom(values);
  const runs = await ctx.log.runs();
  const target = pickRun(runs, positionals[0]!, { ctx, verb: 'rollback', withBackups: true });
  refusePruned(runs, await ctx.store.list(), target);
  const backups = await backupsOfRun(ctx, target, 'restore');
  const databases = [...new Set(backups.map((b) => b.database))];
  const what = target.kind === 'restore' || target.kind === 'rollback' ? `the ${target.kind}` : `"${clip(describeRun(target), 40)}"`;
  const title = `Roll back ${databases.join(', ')} to ${databases.length === 1 ? 'its state' : 'their state'} before ${what} (${when(target.startedAt)})`;
  const later = laterRunsLine(databases, laterRuns(runs, target, databases), runs);
  if (values['dry-run']) {
    const c = paintFor(process.stderr);
    process.stderr.write(`${title}\n  ${later}\n`);
    for (const b of backups) await printPreview(restorePreview(ctx), b);
    process.stderr.write(`${c.bold('dry run')}   nothing was changed; to roll back: ${rollbackCommand(ctx, target.id)}${canPrompt() ? '' : ' --yes'}\n`);
    return 0;
  }
  const safety = await safetyLines(ctx, backups.map((backup) => ({ backup })));
  await confirmRestore({ title, details: [later, ...safety], databases, yes: Boolean(values.yes), verb: 'rollback', yesCommand: `${rollbackCommand(ctx, target.id)} --yes` });
  await performRestore(
    ctx,
    { backups, kind: 'rollback', argv: ['rollback', target.id], reason: `rollback of ${target.id}`, waitMs: waitMs(values), force: Boolean(values.force) },
    Boolean(values.json),
  );
  return 0;
}

/**
 * Runs that started after `target` and touched one of `databases`: restoring the pre-run backup throws
 * their changes away too. Left out: aborted runs (their command never started), failed restores and
 * rollbacks (the core put the database back), and manual backups (they change nothing).
 */
export function laterRuns(runs: RunRecord[], target: RunRecord, databases: string[]): RunRecord[] {
  return runs.filter(
    (r) =>
      r.id !== target.id &&
      r.startedAt > target.startedAt &&
      r.status !== 'aborted' &&
      r.kind !== 'backup' &&
      !((r.kind === 'restore' || r.kind === 'rollback') && r.status === 'failed') &&
      r.databases.some((d) => databases.includes(d)),
  );
}

/** `later runs on app that this also undoes: 2 (c91e ./cleanup.sh, 0b77 psql …)`, within 80 columns. */
function laterRunsLine(databases: string[], later: RunRecord[], all: RunRecord[]): string {
  const head = `later runs on ${databases.join(', ')} that this also undoes: ${later.length}`;
  if (later.length === 0) return `${head.slice(0, -1)}none`;
  const ids = all.map((r) => r.id);
  const room = 76 - head.length - 3; // two columns of indent under the question; " (" and ")"
  // As many runs as fit with at least a few characters of their command each; ids matter most.
  for (let n = Math.min(3, later.length); ; n--) {
    const more = later.length > n ? `, +${later.length - n} more` : '';
    const items = later.slice(0, n).map((r) => ({
      id: uniquePrefix(r.id, ids),
      cmd: (isOwnCommand(r) ? 'safe-run ' : '') + oneLine(r.argv),
    }));
    const width = Math.floor((room - more.length - 2 * (n - 1)) / n);
    const cmdWidth = Math.min(...items.map((i) => width - i.id.length - 1));
    if (cmdWidth >= 8 || n === 1) return `${head} (${items.map((i) => `${i.id} ${clip(i.cmd, Math.max(cmdWidth, 8))}`).join(', ')}${more})`;
  }
}

/** A command on one line: a newline inside an argument would break the question's layout. */
function oneLine(argv: string[]): string {
  return argv.join(' ').replace(/[\x00-\x1f\x7f-\x9f]+/g, ' ');
}

/** The shortest prefix of `id` (at least 4 characters) that no other id shares, as git shows ids. */
function uniquePrefix(id: string, ids: string[]): string {
  for (let n = 4; n < id.length; n++) {
    const p = id.slice(0, n);
    if (!ids.some((other) => other !== id && other.startsWith(p))) return p;
  }
  return id;
}
