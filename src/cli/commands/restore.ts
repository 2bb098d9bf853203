// safe-run restore <backup-id>: put one backup in place of its database (or --into another path).
import path from 'node:path';
import { selectDatabases } from '../../config.js';
import { openEngine } from '../../core/context.js';
import { SafeRunError } from '../../errors.js';
import { resolvePrefix } from '../../ids.js';
import { GLOBAL_OPTIONS, many, parse, WAIT_OPTIONS, waitMs } from '../args.js';
import { age } from '../render/format.js';
import { contextFrom } from '../setup.js';
import { confirmRestore, performRestore } from './restore-flow.js';

export const help = `safe-run restore — restore one backup

Usage: safe-run restore <backup-id> [--yes] [--into PATH] [--json]

  <backup-id>      the backup's id or any unique prefix of it (see safe-run list)
  --into PATH      restore onto this database file instead of the one the backup
                   was taken of (without it, another target is refused)
  --yes            do not ask; required when there is no terminal
  --json           print the record of this restore as JSON on stdout
  --wait SECONDS   wait this long for another safe-run's lock (default 30)
  --no-wait        fail at once if a database is locked
  --config PATH    use this config file

Exit codes: 0 restored, 2 usage (unknown id, no --yes without a terminal),
4 restore refused or failed (the database is as it was), 5 locked,
130 cancelled.`;

const OPTIONS = {
  ...GLOBAL_OPTIONS,
  ...WAIT_OPTIONS,
  yes: { type: 'boolean', short: 'y' },
  json: { type: 'boolean' },
  into: { type: 'string' },
  db: { type: 'string', multiple: true },
} as const;

export async function run(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, OPTIONS, 'restore');
  if (positionals.length !== 1) {
    throw new SafeRunError('usage', 'restore takes one backup id', { hint: 'safe-run restore <backup-id>; see the ids with: safe-run list' });
  }
  const ctx = contextFrom(values);
  const backup = resolvePrefix(await ctx.store.list(), positionals[0]!, 'backup', (b) => `${b.database}  ${b.kind}  ${b.createdAt}`);
  const into = values.into ? path.resolve(ctx.cwd, values.into) : undefined;
  for (const db of selectDatabases(ctx.config, ctx.cwd, many(values.db))) {
    if (!values.db) break;
    const engine = await openEngine(db);
    if (engine.location !== backup.source && engine.location !== into) {
      throw new SafeRunError('restore', `backup ${backup.id} was taken of ${backup.source}, not of ${engine.location}`, {
        stage: 'identity',
        backupId: backup.id,
        hint: `to restore it there anyway, name the target: safe-run restore ${backup.id} --into ${engine.location}`,
      });
    }
  }
  const target = into ?? backup.source;
  await confirmRestore(
    [`Restore ${backup.database} (${target}) to backup ${backup.id.slice(0, 8)} from ${age(backup.createdAt)} (${backup.kind})?`],
    [backup.database],
    Boolean(values.yes),
    'restore',
  );
  await performRestore(
    ctx,
    { backups: [backup], into, kind: 'restore', argv: ['restore', backup.id, ...(into ? ['--into', into] : [])], waitMs: waitMs(values) },
    Boolean(values.json),
  );
  return 0;
}
