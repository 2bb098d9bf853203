// safe-run backup: a manual backup of the configured databases (or --db ones).
import { selectDatabases } from '../../config.js';
import { openEngines } from '../../core/context.js';
import { lockDatabases } from '../../core/db-locks.js';
import { takeVerifiedBackups } from '../../core/take-backup.js';
import { SafeRunError } from '../../errors.js';
import type { Backup } from '../../store/manifest.js';
import { GLOBAL_OPTIONS, many, parse, WAIT_OPTIONS, waitMs } from '../args.js';
import { eventRenderer } from '../render/events.js';
import { backupJson } from '../render/json.js';
import { contextFrom } from '../setup.js';

export const help = `safe-run backup — take a verified manual backup now

Usage: safe-run backup [--db NAME|PATH]... [--reason TEXT] [--json]

  --db NAME|PATH   back up these databases instead of the config's (repeatable)
  --reason TEXT    kept with the backup, shown by safe-run list
  --json           print the backups as JSON on stdout
  --wait SECONDS   wait this long for another safe-run's lock (default 30)
  --no-wait        fail at once if a database is locked
  --config PATH    use this config file

Exit codes: 0 done, 2 usage or config, 3 backup failed or did not verify,
5 locked by another safe-run.`;

const OPTIONS = {
  ...GLOBAL_OPTIONS,
  ...WAIT_OPTIONS,
  db: { type: 'string', multiple: true },
  reason: { type: 'string' },
  json: { type: 'boolean' },
} as const;

export async function run(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, OPTIONS, 'backup');
  if (positionals.length > 0) throw new SafeRunError('usage', `backup: unexpected "${positionals[0]}"`, { hint: 'name databases with --db' });
  const ctx = contextFrom(values);
  const databases = selectDatabases(ctx.config, ctx.cwd, many(values.db));
  if (databases.length === 0) {
    throw new SafeRunError('config', 'no database to back up', { hint: 'add "databases" to safe-run.config.json, or name one with --db PATH' });
  }
  const engines = await openEngines(databases);
  await ctx.store.prepare();
  const render = eventRenderer(ctx.cwd);
  const locks = await lockDatabases(engines, ctx.store.root, {
    purpose: 'manual backup',
    waitMs: waitMs(values),
    onWait: (database, holder, ms) => render({ type: 'lock-wait', database, holder, waitMs: ms }),
  });
  const backups: Backup[] = [];
  try {
    await takeVerifiedBackups(engines, ctx.store, { kind: 'manual', reason: values.reason, check: ctx.config.check, waitMs: waitMs(values) }, render, backups);
  } catch (err) {
    render.stop();
    throw err;
  } finally {
    await locks.release();
  }
  if (values.json) process.stdout.write(JSON.stringify(backups.map(backupJson), null, 2) + '\n');
  else for (const b of backups) process.stderr.write(`restore with: safe-run restore ${b.id}\n`);
  return 0;
}
