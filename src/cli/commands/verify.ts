// safe-run verify: re-check stored backups as a restore would, for people and for cron.
import { selectDatabases } from '../../config.js';
import { verifyStore, type VerifyReport } from '../../core/verify-store.js';
import { EXIT, SafeRunError } from '../../errors.js';
import { resolvePrefix } from '../../ids.js';
import { many, parse } from '../args.js';
import { COMMAND_OPTIONS } from '../options.js';
import { paintFor } from '../render/colour.js';
import { dbFilter } from '../render/db-filter.js';
import { parseSpan, when } from '../render/format.js';
import { renderVerifyLine, renderVerifySummary } from '../render/verify-report.js';
import { contextFrom } from '../setup.js';

export const help = `safe-run verify — re-check backups as a restore would

Usage: safe-run verify [<backup-id>...|--all] [--db NAME|PATH]...
                       [--level quick|full] [--max-age SPAN] [--json]

  <backup-id>...   only these backups (unique prefixes); default: every backup
  --all            every backup in the store (the default; for scripts)
  --db NAME|PATH   only backups of this database (repeatable)
  --level L        quick (PRAGMA quick_check) or full (integrity_check);
                   default: the config's "check"
  --max-age SPAN   also fail unless every database's newest verified backup
                   is younger than SPAN (e.g. 25h, 90m, 2d)
  --json           print { summary, backups, orphans, freshness } on stdout
  --config PATH    use this config file

Every file of every backup is re-hashed and re-opened; a link in place of a
file is a failure, never followed. Files no manifest describes and manifests
that do not parse are reported, never deleted. safe-run list shows when each
backup was last verified.
Exit codes: 0 everything verified (and fresh, with --max-age), 2 usage,
3 a backup failed, is missing or damaged, or the store holds orphans,
6 verified but the results could not be recorded in the store, 8 with
--max-age: a database has no verified backup that young.`;

const OPTIONS = COMMAND_OPTIONS.verify;

export async function run(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, OPTIONS, 'verify');
  if (values.all && positionals.length > 0) {
    throw new SafeRunError('usage', 'verify: give backup ids or --all, not both', { hint: 'safe-run verify (every backup) or safe-run verify <backup-id>' });
  }
  const level = values.level;
  if (level !== undefined && level !== 'quick' && level !== 'full') {
    throw new SafeRunError('usage', `--level takes quick or full, not "${level}"`, { hint: 'e.g. safe-run verify --level full' });
  }
  const maxAgeMs = values['max-age'] === undefined ? undefined : parseSpan(values['max-age'], '--max-age');
  const ctx = contextFrom(values);
  const onDb = dbFilter(ctx.config, ctx.cwd, many(values.db));
  const only = onDb ? (database: string, source: string | undefined) => onDb([database], source ? [source] : []) : undefined;
  let ids: string[] | undefined;
  if (positionals.length > 0) {
    const all = await ctx.store.inventory();
    const candidates = [...all.backups, ...all.damaged.map((d) => ({ ...d, createdAt: undefined, kind: 'damaged' }))];
    ids = positionals.map((p) => resolvePrefix(candidates, p, 'backup', (b) => `${b.database}  ${b.kind}  ${b.createdAt ? when(b.createdAt) : ''}`).id);
  }
  const expected = selectDatabases(ctx.config, ctx.cwd, many(values.db))
    .filter((d) => ctx.config.databases.includes(d))
    .map((d) => d.name);
  const c = paintFor(process.stdout);
  const json = Boolean(values.json);
  const report = await verifyStore(ctx, {
    level: level ?? ctx.config.check,
    ids,
    only,
    maxAgeMs,
    expected,
    onBackup: json ? undefined : (r) => process.stdout.write(renderVerifyLine(r, ctx.cwd, c)),
  });
  if (json) process.stdout.write(JSON.stringify(report, null, 2) + '\n');
  else process.stdout.write(renderVerifySummary(report, ctx.store.root, ctx.cwd, c));
  return exitCodeOf(report);
}

/** A broken backup outranks a stale one: the first needs a person, the second perhaps only a backup. */
function exitCodeOf(r: VerifyReport): number {
  const s = r.summary;
  if (s.failed + s.missing + s.damaged + s.orphans > 0) return EXIT.backup;
  if (s.fresh === false) return EXIT.stale;
  if (s.notRecorded) return EXIT.log;
  return EXIT.ok;
}
