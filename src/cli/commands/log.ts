// safe-run log: the recent runs, newest first, one line each, with filters.
import { SafeRunError } from '../../errors.js';
import { many, parse } from '../args.js';
import { COMMAND_OPTIONS } from '../options.js';
import { paintFor } from '../render/colour.js';
import { dbFilter } from '../render/db-filter.js';
import { duration, oneLine, parseSince, uniquePrefixLength, when } from '../render/format.js';
import { runJson } from '../render/json.js';
import { describeRun, exitStatus, isFailure } from '../render/run-summary.js';
import { renderFooter, renderTable, viewWidth } from '../render/table.js';
import type { RunRecord } from '../../oplog/run-record.js';
import { contextFrom } from '../setup.js';

export const help = `safe-run log — recent runs, newest first

Usage: safe-run log [--failed] [--since WHEN] [--db NAME|PATH]... [--limit N]
                    [--json]

  --failed         only runs that did not succeed: a non-zero exit, a signal,
                   aborted before the command started, or safe-run interrupted
  --since WHEN     only runs started since then: 30m, 12h, 2d, 1w, today,
                   yesterday, or a date (2026-11-01, 2026-11-01 14:00)
  --db NAME|PATH   only runs on this database: a name from the config or a
                   path (repeatable)
  --limit N        show at most N runs (default 20; with --json, all)
  --json           print the matching run records as a JSON array on stdout
  --config PATH    use this config file

Run ids can be abbreviated to any unique prefix: safe-run show <run>.
Exit codes: 0 ok (also when no run matches), 2 usage or config,
6 the operation log cannot be read.`;

const OPTIONS = COMMAND_OPTIONS.log;

const DEFAULT_LIMIT = 20;

export async function run(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, OPTIONS, 'log');
  if (positionals.length > 0) throw new SafeRunError('usage', `log: unexpected "${positionals[0]}"`, { hint: 'see: safe-run log --help' });
  const limit = values.limit === undefined ? undefined : Number(values.limit);
  if (limit !== undefined && (!Number.isInteger(limit) || limit < 1)) {
    throw new SafeRunError('usage', `--limit takes a whole number above 0, not "${values.limit}"`, { hint: 'e.g. --limit 10' });
  }
  const since = values.since === undefined ? undefined : parseSince(values.since);
  const ctx = contextFrom(values);
  const onDb = dbFilter(ctx.config, ctx.cwd, many(values.db));
  const keep = (r: RunRecord) =>
    (!values.failed || isFailure(r)) && (!since || new Date(r.startedAt) >= since) && (!onDb || onDb(r.databases, r.backups.map((b) => b.source)));
  // Only as much of the history as the answer shows is read: the active file, then segments from the
  // newest back (a long history costs nothing here until --limit, a filter or --json reaches into it).
  const wanted = values.json ? (limit ?? Infinity) : (limit ?? DEFAULT_LIMIT);
  const found = await ctx.log.newest(wanted, keep, since?.toISOString());
  const matching = found.runs.reverse();
  const { total, complete } = found;
  if (values.json) {
    process.stdout.write(JSON.stringify(matching.slice(0, limit ?? matching.length).map(runJson), null, 2) + '\n');
    return 0;
  }
  const c = paintFor(process.stdout);
  if (total === 0) {
    process.stdout.write(`no runs yet in ${ctx.log.file}\n`);
    return 0;
  }
  const filtered = matching.length !== found.ids.length;
  if (matching.length === 0) {
    process.stdout.write(`no runs match (${total} in the log)\n`);
    return 0;
  }
  const shown = matching.slice(0, limit ?? DEFAULT_LIMIT);
  // Unique among the runs read; with older runs unread, long enough that a clash with one is unlikely.
  const idLength = uniquePrefixLength(found.ids, found.ids.length >= total ? 4 : Math.max(4, Math.ceil(Math.log(total) / Math.log(16)) + 2));
  const rows = shown.map((r) => [
    r.id.slice(0, idLength),
    when(r.startedAt),
    oneLine(describeRun(r)),
    exitStatus(r, c),
    r.durationMs === undefined ? '' : duration(r.durationMs),
    r.databases.join(',') + (r.backupSkipped ? ' (no backup)' : ''),
  ]);
  const width = viewWidth();
  const table = renderTable(
    [
      { header: 'RUN' },
      { header: 'WHEN' },
      { header: 'COMMAND', flexible: true, min: 16 },
      { header: 'EXIT', right: true },
      { header: 'TOOK', right: true },
      { header: 'DATABASES', flexible: true },
    ],
    rows,
    width,
  );
  const counts = !filtered
    ? `${shown.length} of ${total} runs`
    : complete
      ? `${shown.length} of ${matching.length} matching runs (${total} logged)`
      : `${shown.length} newest matching runs (${total} logged)`;
  process.stdout.write(`${table}\n${c.dim(renderFooter([counts, 'safe-run show <run> for one', '--json for all fields'], width))}\n`);
  return 0;
}
