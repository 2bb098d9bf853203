// safe-run list: the backups in the store.
import { SafeRunError } from '../../errors.js';
import { GLOBAL_OPTIONS, parse } from '../args.js';
import { paintFor } from '../render/colour.js';
import { age, clip, size } from '../render/format.js';
import { backupJson } from '../render/json.js';
import { renderTable } from '../render/table.js';
import { contextFrom } from '../setup.js';

export const help = `safe-run list — the backups in the store, newest first

Usage: safe-run list [--json]

  --json           print the backups as a JSON array on stdout
  --config PATH    use this config file

Exit codes: 0 ok, 2 usage or config.`;

const OPTIONS = { ...GLOBAL_OPTIONS, json: { type: 'boolean' } } as const;

export async function run(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, OPTIONS, 'list');
  if (positionals.length > 0) throw new SafeRunError('usage', `list: unexpected "${positionals[0]}"`, { hint: 'see: safe-run list --help' });
  const ctx = contextFrom(values);
  const backups = (await ctx.store.list()).reverse();
  if (values.json) {
    process.stdout.write(JSON.stringify(backups.map(backupJson), null, 2) + '\n');
    return 0;
  }
  if (backups.length === 0) {
    process.stdout.write(`no backups yet in ${ctx.store.root}\n`);
    return 0;
  }
  const c = paintFor(process.stdout);
  const rows = backups.map((b) => [b.id.slice(0, 8), b.database, b.kind, clip(b.reason ?? '', 30), age(b.createdAt), size(b.size)]);
  process.stdout.write(
    renderTable([{ header: 'BACKUP' }, { header: 'DATABASE' }, { header: 'KIND' }, { header: 'REASON', flexible: true }, { header: 'AGE', right: true }, { header: 'SIZE', right: true }], rows) +
      '\n',
  );
  const total = backups.reduce((n, b) => n + b.size, 0);
  process.stdout.write(c.dim(`${backups.length} backups · ${size(total)} in ${ctx.store.root}`) + '\n');
  return 0;
}
