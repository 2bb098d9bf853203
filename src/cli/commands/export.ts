// safe-run export <backup-id|database>: a backup's tables as CSV files (a directory, or one zip).
import path from 'node:path';
import { exportBackup } from '../../core/export/export-backup.js';
import { SafeRunError } from '../../errors.js';
import { shortId } from '../../ids.js';
import type { BackupStore } from '../../store/backup-store.js';
import type { Backup } from '../../store/manifest.js';
import { parse } from '../args.js';
import { COMMAND_OPTIONS } from '../options.js';
import { pickBackup } from '../pick.js';
import { shortPath } from '../render/format.js';
import { contextFrom } from '../setup.js';

export const help = `safe-run export — a backup's tables as CSV files, for a spreadsheet

Usage: safe-run export <backup-id|database> [--out PATH] [--zip] [--json]

  <backup-id>      a backup's id or any unique prefix of it (safe-run list)
  <database>       a database's name: its newest backup
  --out PATH       where to write (default ./safe-run-export-<id>, or
                   ./safe-run-export-<id>.zip with --zip); never overwritten
  --zip            write one .zip file instead of a directory
  --json           print the export's manifest as JSON on stdout
  --config PATH    use this config file

One CSV per table (UTF-8 with BOM, RFC 4180), manifest.json (row counts,
sha256 per file, schema) and README.txt. Text is always quoted: "" is an
empty string, an empty unquoted field is NULL; BLOBs are base64. Every CSV
is read back and its rows counted before the export is put in place.
Exit codes: 0 done, 2 usage (unknown id, PATH exists, engine cannot export
yet), 6 the backup's manifest does not parse, 9 export failed (the backup
file changed or is a link, a full disk); nothing is left at PATH then.`;

export async function run(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, COMMAND_OPTIONS.export, 'export');
  if (positionals.length !== 1) {
    throw new SafeRunError('usage', 'export takes one backup id or database name', { hint: 'safe-run export <backup-id>; see the ids with: safe-run list' });
  }
  const ctx = contextFrom(values);
  const backup = await chooseBackup(ctx.store, positionals[0]!);
  const zip = Boolean(values.zip);
  const out = path.resolve(ctx.cwd, values.out ?? `safe-run-export-${shortId(backup.id)}${zip ? '.zip' : ''}`);
  const started = Date.now();
  process.stderr.write(`safe-run  exporting ${backup.database} from backup ${shortId(backup.id)} …\n`);
  const result = await exportBackup({
    backup,
    out,
    zip,
    configured: ctx.config.databases,
    onTable: (table, rows) => process.stderr.write(`  ${table}: ${rows.toLocaleString('en-US')} rows\n`),
  });
  const tables = result.manifest.tables;
  const rows = tables.reduce((sum, t) => sum + t.rows, 0);
  process.stderr.write(
    `exported  ${tables.length} tables, ${rows.toLocaleString('en-US')} rows, counted back, in ${((Date.now() - started) / 1000).toFixed(1)} s → ${shortPath(out, ctx.cwd)}\n`,
  );
  if (values.json) process.stdout.write(JSON.stringify({ out, zip, ...result.manifest }, null, 2) + '\n');
  return 0;
}

/**
 * A database's name picks its newest backup; anything else is a backup id prefix. An id that matches
 * only a backup whose manifest does not parse (the listing skips those) is said as such, not "unknown".
 */
async function chooseBackup(store: BackupStore, wanted: string): Promise<Backup> {
  const backups = await store.list();
  const ofDatabase = backups.filter((b) => b.database === wanted);
  if (ofDatabase.length > 0) return ofDatabase.at(-1)!;
  try {
    return pickBackup(backups, wanted);
  } catch (err) {
    const damaged = (await store.unreadable()).find((dir) => path.basename(dir).startsWith(wanted));
    if (!damaged) throw err;
    throw new SafeRunError('log', `backup ${path.basename(damaged)} cannot be exported: its manifest ${path.join(damaged, 'manifest.json')} does not parse`, {
      hint: 'it was left as it is; export another backup (safe-run list), or repair the manifest',
    });
  }
}
