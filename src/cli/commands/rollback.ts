// safe-run rollback <run-id>: put back the backups taken before a run (or undo a restore).
import { resolvePrefix, shortId } from '../../ids.js';
import { SafeRunError } from '../../errors.js';
import { GLOBAL_OPTIONS, parse, WAIT_OPTIONS, waitMs } from '../args.js';
import { when } from '../render/format.js';
import { contextFrom } from '../setup.js';
import { confirmRestore, performRestore, safetyLine } from './restore-flow.js';

export const help = `safe-run rollback — restore the backups taken before a run

Usage: safe-run rollback <run-id> [--yes] [--json]

  <run-id>         the run's id or any unique prefix of it (see safe-run log);
                   "last" means the newest run
  --yes            do not ask; required when there is no terminal
  --json           print the record of this rollback as JSON on stdout
  --wait SECONDS   wait this long for another safe-run's lock (default 30)
  --no-wait        fail at once if a database is locked
  --config PATH    use this config file

Each backup is re-verified first (a damaged one is refused with the database
untouched), the database as it is now is kept as a safety backup, and the
rollback prints the command that undoes it.
Exit codes: 0 restored, 2 usage (unknown id, no --yes without a terminal),
4 restore refused or failed (the database is as it was), 5 locked,
130 cancelled.`;

const OPTIONS = { ...GLOBAL_OPTIONS, ...WAIT_OPTIONS, yes: { type: 'boolean', short: 'y' }, json: { type: 'boolean' } } as const;

export async function run(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, OPTIONS, 'rollback');
  if (positionals.length !== 1) {
    throw new SafeRunError('usage', 'rollback takes one run id', { hint: 'safe-run rollback <run-id>; see the ids with: safe-run log' });
  }
  const ctx = contextFrom(values);
  const runs = await ctx.log.runs();
  const withBackups = runs.filter((r) => r.backups.length > 0);
  const wanted = positionals[0]!;
  const target =
    wanted === 'last'
      ? withBackups.at(-1)
      : resolvePrefix(runs, wanted, 'run', (r) => `${r.startedAt}  ${r.argv.join(' ').slice(0, 50)}`);
  if (!target) throw new SafeRunError('usage', 'there is no run to roll back yet', { hint: 'see: safe-run log' });
  if (target.backups.length === 0) {
    throw new SafeRunError('usage', `run ${shortId(target.id)} has no backups to roll back to (${target.status})`, { hint: 'see: safe-run log' });
  }
  const stored = await ctx.store.list();
  const backups = target.backups.map((ref) => {
    const b = stored.find((s) => s.id === ref.id);
    if (!b) {
      throw new SafeRunError('restore', `backup ${ref.id} of ${ref.database} is no longer in the store ${ctx.store.root}`, {
        stage: 'restore',
        database: ref.database,
        hint: 'nothing was changed; see what is left with: safe-run list',
      });
    }
    return b;
  });
  const what = target.kind === 'restore' || target.kind === 'rollback' ? `the ${target.kind}` : `"${target.argv.join(' ')}"`;
  const databases = [...new Set(backups.map((b) => b.database))];
  await confirmRestore({
    title: `Roll back ${databases.join(', ')} to its state before ${what} (${when(target.startedAt)})`,
    details: [safetyLine(databases)],
    databases,
    yes: Boolean(values.yes),
    verb: 'rollback',
  });
  await performRestore(
    ctx,
    { backups, kind: 'rollback', argv: ['rollback', target.id], reason: `rollback of ${target.id}`, waitMs: waitMs(values) },
    Boolean(values.json),
  );
  return 0;
}
