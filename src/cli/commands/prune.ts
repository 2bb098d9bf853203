// safe-run prune: apply a retention policy (options, or the config's "retention") to the backup store.
import { parseRetention, RETENTION_KEYS, selectDatabases } from '../../config.js';
import { prune } from '../../core/prune.js';
import type { RetentionDecision, RetentionPolicy } from '../../core/retention.js';
import { SafeRunError } from '../../errors.js';
import { footprint } from '../../store/manifest.js';
import { many, parse, waitMs } from '../args.js';
import { COMMAND_OPTIONS } from '../options.js';
import { paintFor } from '../render/colour.js';
import { elapsed, size, uniquePrefixLength } from '../render/format.js';
import { backupJson } from '../render/json.js';
import { renderTable, viewWidth } from '../render/table.js';
import { contextFrom } from '../setup.js';

export const help = `safe-run prune — remove old backups by a retention policy

Usage: safe-run prune [--keep-last N] [--keep-daily N] … [--dry-run] [--json]

  --keep-last N        keep the N newest automatic backups of each database
  --keep-hourly N      keep the newest backup of each of the last N hours
  --keep-daily N       … days, --keep-weekly N weeks, --keep-monthly N
  --keep-yearly N      months, --keep-yearly N years (that have a backup)
  --max-age DURATION   keep backups younger than this: 12h, 30d, 8w, 1y
  --max-size SIZE      then remove the oldest until the store holds at most
                       this much: 500MB, 5GB, 2GiB
  --db NAME|PATH       only this database's backups (repeatable)
  -n, --dry-run        list what would go, and why each other one is kept
  --json               print every decision as JSON on stdout
  --wait SECONDS       wait this long for a database's lock (default 30)
  --no-wait            fail at once if a database is locked
  --config PATH        use this config file

Without rules, the config's "retention" applies. Rules combine: a backup
stays when any rule keeps it. Never removed: manual and pinned backups
(safe-run pin), each database's newest verified backup, the backups of its
newest run and the safety backup of its newest restore. prune never asks:
run it with --dry-run first.
Exit codes: 0 done (also when nothing goes), 2 usage (no rule, bad value,
--max-size cannot be met: nothing removed), 5 locked by another safe-run,
6 a manifest, the pins or the log cannot be read or written (nothing removed).`;

const OPTIONS = COMMAND_OPTIONS.prune;

export async function run(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, OPTIONS, 'prune');
  if (positionals.length > 0) throw new SafeRunError('usage', `prune: unexpected "${positionals[0]}"`, { hint: 'see: safe-run prune --help' });
  const fromOptions: Record<string, unknown> = {};
  for (const [key, option] of Object.entries(RETENTION_KEYS)) {
    if (values[option] !== undefined) fromOptions[key] = values[option];
  }
  const given = parseRetention(fromOptions, (key, what) => {
    const option = RETENTION_KEYS[key as keyof typeof RETENTION_KEYS];
    return new SafeRunError('usage', `--${option} ${what}, not "${String(fromOptions[key])}"`, { hint: 'see: safe-run prune --help' });
  });
  const ctx = contextFrom(values);
  const policy: RetentionPolicy = Object.keys(given).length > 0 ? given : (ctx.config.retention ?? {});
  const databases = selectDatabases(ctx.config, ctx.cwd, many(values.db)).map((d) => d.name);
  const result = await prune(ctx, {
    policy,
    databases: many(values.db).length > 0 ? databases : [],
    dryRun: Boolean(values['dry-run']),
    argv: ['prune', ...args],
    waitMs: waitMs(values),
  });
  const removedIds = new Set(result.removed.map((b) => b.id));
  if (values.json) {
    const json = {
      dryRun: Boolean(values['dry-run']),
      pruneRunId: result.record?.id ?? null,
      decisions: result.decisions.map((d) => ({
        ...backupJson(d.backup),
        keep: d.keep,
        removed: removedIds.has(d.backup.id),
        reasons: d.reasons,
      })),
    };
    process.stdout.write(JSON.stringify(json, null, 2) + '\n');
    return 0;
  }
  const c = paintFor(process.stderr);
  const going = result.decisions.filter((d) => !d.keep);
  if (values['dry-run']) {
    process.stdout.write(table(result.decisions) + '\n');
    const bytes = going.reduce((n, d) => n + footprint(d.backup), 0);
    process.stderr.write(`${c.bold('dry run')}   ${going.length} of ${result.decisions.length} backups would go (${size(bytes)}); nothing was changed\n`);
    return 0;
  }
  if (result.removed.length === 0) {
    process.stderr.write(`safe-run  nothing to prune: every one of ${result.decisions.length} backups is kept (see why: safe-run prune --dry-run)\n`);
    return 0;
  }
  for (const b of result.removed) process.stderr.write(`removed   ${b.id}  ${b.database}  ${b.kind}, ${elapsed(b.createdAt)} old, ${size(footprint(b))}\n`);
  // Pages that kept backups still use moved into them (page store): those bytes stay in the store.
  const bytes = result.removed.reduce((n, b) => n + footprint(b), 0) - result.movedBytes;
  process.stderr.write(`safe-run  pruned ${result.removed.length} backups (${size(bytes)} freed); ${result.decisions.length - result.removed.length} kept; logged as ${result.record?.id ?? '?'}\n`);
  return 0;
}

function table(decisions: RetentionDecision[]): string {
  const newestFirst = [...decisions].sort((a, b) => b.backup.createdAt.localeCompare(a.backup.createdAt));
  const idLength = uniquePrefixLength(decisions.map((d) => d.backup.id));
  const rows = newestFirst.map((d) => [
    d.backup.id.slice(0, idLength),
    d.backup.database,
    d.backup.kind,
    elapsed(d.backup.createdAt),
    size(footprint(d.backup)),
    d.keep ? 'keep' : 'remove',
    d.reasons.join(', '),
  ]);
  return renderTable(
    [
      { header: 'BACKUP' },
      { header: 'DATABASE', flexible: true, min: 8 },
      { header: 'KIND' },
      { header: 'AGE', right: true },
      { header: 'SIZE', right: true },
      { header: 'ACTION' },
      { header: 'WHY', flexible: true, min: 12 },
    ],
    rows,
    viewWidth(),
  );
}
