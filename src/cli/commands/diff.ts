// safe-run diff <run-id>: what a run changed, from its pre-run backups to now (or to another backup).
import { diffRun } from '../../core/diff-run.js';
import { SafeRunError } from '../../errors.js';
import { pickBackup, pickRun } from '../pick.js';
import { many, parse } from '../args.js';
import { COMMAND_OPTIONS } from '../options.js';
import { renderDiff } from '../render/diff.js';
import { contextFrom } from '../setup.js';
import { selectDatabases } from '../../config.js';
import { openEngine } from '../../core/context.js';

export const help = `safe-run diff — what a run changed

Usage: safe-run diff <run-id> [--to <backup-id>] [--rows [N]] [--db NAME|PATH]
                      [--json]

  <run-id>          the run's id or any unique prefix of it; "last": the newest
  --to <backup-id>  compare with this backup, not with the database as it is now
  --rows [N]        show the changed rows themselves, at most N per table (10)
  --db NAME|PATH    only these databases of the run
  --json            print everything as JSON on stdout
  --config PATH     use this config file

Compares the backup taken before the run with the database as SQLite sees it
now (including transactions still in its -wal): schema, then rows per table by
primary key (or rowid). Only tables with changed pages are read. DuckDB: both
files side by side, rows by primary key (by content without one), no --rows.
Exit codes: 0 ok, 2 usage (unknown id, a backup no longer in the store),
6 the operation log cannot be read.`;

const OPTIONS = COMMAND_OPTIONS.diff;

/** `--rows` takes an optional number: pull it out before strict parsing. */
function takeRows(args: string[]): { args: string[]; rows: number } {
  const i = args.indexOf('--rows');
  if (i < 0) return { args, rows: 0 };
  const next = args[i + 1];
  if (next !== undefined && /^\d+$/.test(next)) return { args: [...args.slice(0, i), ...args.slice(i + 2)], rows: Number(next) };
  return { args: [...args.slice(0, i), ...args.slice(i + 1)], rows: 10 };
}

export async function run(rawArgs: string[]): Promise<number> {
  const { args, rows } = takeRows(rawArgs);
  const { values, positionals } = parse(args, OPTIONS, 'diff');
  if (positionals.length !== 1) throw new SafeRunError('usage', 'diff takes one run id', { hint: 'safe-run diff <run-id>; see the ids with: safe-run log' });
  const ctx = contextFrom(values);
  const run = pickRun(await ctx.log.runs(), positionals[0]!, { ctx, verb: 'diff', withBackups: true });
  const to = values.to ? pickBackup(await ctx.store.list(), values.to) : undefined;
  let diffs = await diffRun(ctx, run, { to, rows });
  const selectors = many(values.db);
  if (selectors.length) {
    const wanted = await Promise.all(selectDatabases(ctx.config, ctx.cwd, selectors).map(openEngine));
    diffs = diffs.filter((d) => wanted.some((w) => w.name === d.database || run.backups.some((b) => b.database === d.database && b.source === w.location)));
  }
  if (values.json) {
    process.stdout.write(JSON.stringify({ run: run.id, diffs }, jsonValue, 2) + '\n');
    return 0;
  }
  process.stdout.write(diffs.map((d) => renderDiff(d)).join('\n\n') + '\n');
  return 0;
}

/** Blobs as x'hex' (JSON has no bytes), big integers as strings. */
function jsonValue(_key: string, v: unknown): unknown {
  if (typeof v === 'bigint') return v.toString();
  const b = v as { type?: unknown; data?: unknown };
  if (b && b.type === 'Buffer' && Array.isArray(b.data)) return `x'${Buffer.from(b.data as number[]).toString('hex')}'`;
  return v;
}
