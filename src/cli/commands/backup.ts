// safe-run backup: a manual backup of the configured databases (or --db ones).
import { selectDatabases } from '../../config.js';
import { backupsSwitchedOff, refuseWhileOff } from '../../core/backups-switch.js';
import { guard } from '../../core/guard.js';
import { ON_DEMAND_KINDS, type BackupKind } from '../../store/manifest.js';
import { SafeRunError } from '../../errors.js';
import { many, parse, waitMs } from '../args.js';
import { COMMAND_OPTIONS } from '../options.js';
import { eventRenderer } from '../render/events.js';
import { backupJson } from '../render/json.js';
import { contextFrom } from '../setup.js';
import { restoreCommand } from './restore-flow.js';

export const help = `safe-run backup — take a verified manual backup now

Usage: safe-run backup [--db NAME|PATH]... [--reason TEXT] [--kind KIND]
                      [--json]

  --db NAME|PATH   back up these databases instead of the config's (repeatable)
  --reason TEXT    kept with the backup, shown by safe-run list
  --kind KIND      manual (default: kept until you remove it), or scheduled,
                   startup, shutdown: automatic, for a cron job or a systemd
                   timer; the config's retention (with "auto") applies after
  --json           print the backups as JSON on stdout
  --wait SECONDS   wait this long for another safe-run's lock (default 30)
  --no-wait        fail at once if a database is locked
  --config PATH    use this config file

Refused while backups are switched off (SAFE_RUN_DISABLE=1 or "enabled":
false in the config).
Exit codes: 0 done, 2 usage or config (also: backups switched off), 3 backup
failed or did not verify, 5 locked by another safe-run.`;

const OPTIONS = COMMAND_OPTIONS.backup;

export async function run(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, OPTIONS, 'backup');
  if (positionals.length > 0) throw new SafeRunError('usage', `backup: unexpected "${positionals[0]}"`, { hint: 'name databases with --db' });
  const kind = (values.kind ?? 'manual') as BackupKind;
  if (!ON_DEMAND_KINDS.includes(kind)) {
    throw new SafeRunError('usage', `backup: --kind takes ${ON_DEMAND_KINDS.join(', ')}, not "${values.kind}"`, { hint: 'e.g. safe-run backup --kind scheduled' });
  }
  const ctx = contextFrom(values);
  const off = backupsSwitchedOff(ctx.config);
  if (off) throw refuseWhileOff('backup', off);
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
      { databases, argv: ['backup', ...args], kind: 'backup', backupKind: kind, reason: values.reason, waitMs: waitMs(values), rollbackOnFailure: false, onEvent: render },
      async () => ({ ok: true, exitCode: 0, signal: null }),
    ));
  } catch (err) {
    render.stop();
    throw err;
  }
  if (values.json) process.stdout.write(JSON.stringify(backups.map(backupJson), null, 2) + '\n');
  else for (const b of backups) process.stderr.write(`restore with: ${restoreCommand(ctx, b.id, { yes: false })}\n`);
  return 0;
}
