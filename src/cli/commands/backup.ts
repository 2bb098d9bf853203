// safe-run backup: a manual backup of the configured databases (or --db ones).
import { selectDatabases } from '../../config.js';
import { guard } from '../../core/guard.js';
import { SafeRunError } from '../../errors.js';
import { many, parse, waitMs } from '../args.js';
import { COMMAND_OPTIONS } from '../options.js';
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

const OPTIONS = COMMAND_OPTIONS.backup;

export async function run(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, OPTIONS, 'backup');
  if (positionals.length > 0) throw new SafeRunError('usage', `backup: unexpected "${positionals[0]}"`, { hint: 'name databases with --db' });
  const ctx = contextFrom(values);
  const databases = selectDatabases(ctx.config, ctx.cwd, many(values.db));
  if (databases.length === 0) {
    throw new SafeRunError('config', 'no database to back up', { hint: 'add "databases" to safe-run.config.json, or name one with --db PATH' });
  }
  const render = eventRenderer(ctx.cwd);
  let backups;
  try {
    // The same service as a guarded run, with a body that does nothing: locked, verified, and logged.
    ({ backups } = await guard(
      ctx,
      { databases, argv: ['backup', ...args], kind: 'backup', reason: values.reason, waitMs: waitMs(values), rollbackOnFailure: false, onEvent: render },
      async () => ({ ok: true, exitCode: 0, signal: null }),
    ));
  } catch (err) {
    render.stop();
    throw err;
  }
  if (values.json) process.stdout.write(JSON.stringify(backups.map(backupJson), null, 2) + '\n');
  else for (const b of backups) process.stderr.write(`restore with: safe-run restore ${b.id}\n`);
  return 0;
}
