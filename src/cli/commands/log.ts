// safe-run log: the recent runs, newest first.
import { SafeRunError } from '../../errors.js';
import type { RunRecord } from '../../oplog/run-record.js';
import { GLOBAL_OPTIONS, parse } from '../args.js';
import { paintFor } from '../render/colour.js';
import { clip, duration, when } from '../render/format.js';
import { runJson } from '../render/json.js';
import { renderTable } from '../render/table.js';
import { contextFrom } from '../setup.js';

export const help = `safe-run log — recent runs, newest first

Usage: safe-run log [--limit N] [--json]

  --limit N        show at most N runs (default 20; with --json, all)
  --json           print the run records as a JSON array on stdout
  --config PATH    use this config file

Exit codes: 0 ok, 2 usage or config, 6 the operation log cannot be read.`;

const OPTIONS = { ...GLOBAL_OPTIONS, json: { type: 'boolean' }, limit: { type: 'string' } } as const;

export async function run(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, OPTIONS, 'log');
  if (positionals.length > 0) throw new SafeRunError('usage', `log: unexpected "${positionals[0]}"`, { hint: 'see: safe-run log --help' });
  const limit = values.limit === undefined ? undefined : Number(values.limit);
  if (limit !== undefined && (!Number.isInteger(limit) || limit < 1)) {
    throw new SafeRunError('usage', `--limit takes a whole number above 0, not "${values.limit}"`, { hint: 'e.g. --limit 10' });
  }
  const ctx = contextFrom(values);
  const runs = (await ctx.log.runs()).reverse();
  if (values.json) {
    process.stdout.write(JSON.stringify(runs.slice(0, limit ?? runs.length).map(runJson), null, 2) + '\n');
    return 0;
  }
  const shown = runs.slice(0, limit ?? 20);
  if (shown.length === 0) {
    process.stdout.write(`no runs yet in ${ctx.log.file}\n`);
    return 0;
  }
  const c = paintFor(process.stdout);
  const rows = shown.map((r) => [
    r.id.slice(0, 8),
    when(r.startedAt),
    clip(describe(r), 60),
    status(r, c),
    r.durationMs === undefined ? '' : duration(r.durationMs),
    r.databases.join(','),
  ]);
  process.stdout.write(
    renderTable(
      [{ header: 'RUN' }, { header: 'WHEN' }, { header: 'COMMAND', flexible: true }, { header: 'EXIT', right: true }, { header: 'TOOK', right: true }, { header: 'DATABASES' }],
      rows,
    ) + '\n',
  );
  process.stdout.write(c.dim(`${shown.length} of ${runs.length} runs · --json for all fields`) + '\n');
  return 0;
}

function describe(r: RunRecord): string {
  if (r.kind === 'restore' || r.kind === 'rollback') return `(${r.kind}) ${r.argv.slice(1).join(' ')}`;
  return r.argv.join(' ');
}

function status(r: RunRecord, c: ReturnType<typeof paintFor>): string {
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
