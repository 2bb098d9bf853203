// safe-run list: the backups in the store, newest first, with what each was for and whether it is intact.
import { SafeRunError } from '../../errors.js';
import type { RunRecord } from '../../oplog/run-record.js';
import { BACKUP_KINDS, footprint, type Backup, type BackupKind } from '../../store/manifest.js';
import { PinFile } from '../../store/pins.js';
import { many, parse } from '../args.js';
import { COMMAND_OPTIONS } from '../options.js';
import { fileState, paintState, type FileState } from '../render/backup-state.js';
import { paintFor } from '../render/colour.js';
import { dbFilter } from '../render/db-filter.js';
import { age, elapsed, oneLine, size, uniquePrefixLength, when } from '../render/format.js';
import { backupJson } from '../render/json.js';
import { lastVerification, type VerificationRecord } from '../../store/verification-record.js';
import { describeRun } from '../render/run-summary.js';
import { renderFooter, renderTable, viewWidth, wrapFooter } from '../render/table.js';
import { contextFrom } from '../setup.js';

export const help = `safe-run list — the backups in the store, newest first

Usage: safe-run list [--db NAME|PATH]... [--kind KIND]... [--json]

  --db NAME|PATH   only backups of this database: a name from the config or
                   a path (repeatable)
  --kind KIND      only this kind (repeatable): pre-run (taken before a
                   guarded run), manual (safe-run backup), pre-restore (the
                   safety backup taken before a restore), startup, scheduled,
                   shutdown (taken by safe-run serve or a timer)
  --json           print the backups as a JSON array on stdout
  --config PATH    use this config file

STATE is verified (checked when taken, file there with its size), missing
(file gone) or changed (size differs). list does not re-hash the files;
CHECKED says how long ago safe-run verify last did (and whether it failed).
Backup ids can be abbreviated to any unique prefix: safe-run restore <backup>.
Exit codes: 0 ok (also when nothing matches), 2 usage or config.`;

const KINDS = BACKUP_KINDS;

const OPTIONS = COMMAND_OPTIONS.list;

export async function run(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, OPTIONS, 'list');
  if (positionals.length > 0) throw new SafeRunError('usage', `list: unexpected "${positionals[0]}"`, { hint: 'see: safe-run list --help' });
  const kinds = many(values.kind);
  for (const k of kinds) {
    if (!KINDS.includes(k as BackupKind)) {
      throw new SafeRunError('usage', `--kind takes ${KINDS.join(', ')}, not "${k}"`, { hint: 'e.g. safe-run list --kind manual' });
    }
  }
  const ctx = contextFrom(values);
  const onDb = dbFilter(ctx.config, ctx.cwd, many(values.db));
  const all = (await ctx.store.list()).reverse();
  const backups = all.filter((b) => (kinds.length === 0 || kinds.includes(b.kind)) && (!onDb || onDb([b.database], [b.source])));
  const states = await Promise.all(backups.map(fileState));
  const checks = await Promise.all(backups.map((b) => lastVerification(b.path)));
  if (values.json) {
    const pins = await new PinFile(ctx.store.root).read();
    const json = backups.map((b, i) => ({ ...backupJson(b), present: states[i] !== 'missing', state: states[i], pinned: b.id in pins, lastVerified: checks[i] ?? null }));
    process.stdout.write(JSON.stringify(json, null, 2) + '\n');
    return 0;
  }
  if (all.length === 0) {
    process.stdout.write(`no backups yet in ${ctx.store.root}\n`);
    return 0;
  }
  if (backups.length === 0) {
    process.stdout.write(`no backups match (${all.length} in ${ctx.store.root})\n`);
    return 0;
  }
  const runs = await runsById(ctx.log.runs());
  const c = paintFor(process.stdout);
  const idLength = uniquePrefixLength(all.map((b) => b.id));
  const rows = backups.map((b, i) => [
    b.id.slice(0, idLength),
    b.database,
    b.kind,
    oneLine(purpose(b, runs)),
    elapsed(b.createdAt),
    size(footprint(b)),
    checkedCell(checks[i], c),
    paintState(states[i]!, c),
  ]);
  const width = viewWidth();
  const table = renderTable(
    [
      { header: 'BACKUP' },
      { header: 'DATABASE', flexible: true, min: 8 },
      { header: 'KIND' },
      { header: 'REASON / COMMAND', flexible: true, min: 16 },
      { header: 'AGE', right: true },
      { header: 'SIZE', right: true },
      { header: 'CHECKED', right: true },
      { header: 'STATE' },
    ],
    rows,
    width,
  );
  process.stdout.write(`${table}\n${c.dim(totals(backups, states, all.length, width))}\n`);
  return 0;
}

/** When `safe-run verify` last re-checked it ("2 h", "never"), in red when that check failed. */
function checkedCell(check: VerificationRecord | undefined, c: ReturnType<typeof paintFor>): string {
  if (!check) return c.dim('never');
  return check.ok ? elapsed(check.at) : c.red(`failed ${elapsed(check.at)}`);
}

/** The runs of the log by id; a log that cannot be read leaves the command column to the reasons. */
async function runsById(pending: Promise<RunRecord[]>): Promise<Map<string, RunRecord>> {
  const runs = await pending.catch(() => [] as RunRecord[]);
  return new Map(runs.map((r) => [r.id, r]));
}

/** Why the backup exists: its reason, else the command of the run it was taken for. */
function purpose(b: Backup, runs: Map<string, RunRecord>): string {
  if (b.reason) return b.reason;
  const r = b.runId ? runs.get(b.runId) : undefined;
  if (r) return describeRun(r);
  return b.runId ? `run ${b.runId}` : '';
}

/** Two lines: the count per kind and the total size; the newest and oldest. */
function totals(backups: Backup[], states: FileState[], inStore: number, width: number): string {
  const perKind = KINDS.map((k) => [k, backups.filter((b) => b.kind === k).length] as const)
    .filter(([, n]) => n > 0)
    .map(([k, n]) => `${n} ${k}`);
  const bytes = backups.reduce((sum, b) => sum + footprint(b), 0);
  const missing = states.filter((s) => s === 'missing').length;
  const changed = states.filter((s) => s === 'changed').length;
  const count = `${backups.length}${backups.length === inStore ? '' : ` of ${inStore}`} backup${inStore === 1 ? '' : 's'}`;
  // The size and the missing/changed counts are facts, not hints: wrapped onto a second line, never dropped.
  const kinds = wrapFooter([`${count}: ${perKind[0] ?? ''}`, ...perKind.slice(1)], width, ', ', ',').split('\n');
  const first = [
    ...kinds.slice(0, -1),
    wrapFooter([kinds.at(-1)!, size(bytes), ...(missing ? [`${missing} missing`] : []), ...(changed ? [`${changed} changed`] : [])], width),
  ].join('\n');
  const newest = backups[0]!;
  const oldest = backups.at(-1)!;
  const second = renderFooter([`newest ${when(newest.createdAt)} (${age(newest.createdAt)})`, `oldest ${when(oldest.createdAt)} (${age(oldest.createdAt)})`], width);
  return `${first}\n${second}`;
}
