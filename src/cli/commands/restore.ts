// safe-run restore [<backup-id>]: put one backup in place of its database (or --into another path).
import path from 'node:path';
import { isUrl, selectDatabases } from '../../config.js';
import { openEngine } from '../../core/context.js';
import { SafeRunError } from '../../errors.js';
import { shortId } from '../../ids.js';
import { pickBackup } from '../pick.js';
import { many, parse, waitMs } from '../args.js';
import { COMMAND_OPTIONS } from '../options.js';
import { paintFor } from '../render/colour.js';
import { age, shortPath } from '../render/format.js';
import { canPrompt, contextFrom } from '../setup.js';
import { confirmRestore, performRestore, printPreview, restoreCommand, restorePreview, safetyLines } from './restore-flow.js';
import { runRestoreWizard } from './restore-wizard.js';
import { projectArgs } from '../../core/rollback-command.js';
import { shellJoin } from '../../core/shell-quote.js';

export const help = `safe-run restore — restore one backup

Usage: safe-run restore <backup-id> [--yes] [--into PATH] [--dry-run] [--json]
       safe-run restore              on a terminal: choose the database and the
                                     backup, see what would change, confirm

  <backup-id>      the backup's id or a unique prefix of it (see safe-run list)
  --db NAME|PATH   the database to restore (with an id: refuse a backup taken
                   of another one; without: only offer this one's backups)
  --into PATH      restore onto this database file instead of the one the backup
                   was taken of (without it, another target is refused)
  --dry-run        show what the restore would change, and change nothing
  --yes            do not ask; required with an id when there is no terminal
  --force          a server database others are connected to: disconnect
                   them for the swap instead of refusing (PostgreSQL)
  --json           print the record of this restore as JSON on stdout
  --wait SECONDS   wait this long for another safe-run's lock (default 30)
  --no-wait        fail at once if a database is locked
  --config PATH    use this config file

To go ahead, type the database's name; Enter or anything else changes nothing.
Exit codes: 0 restored (or dry run), 2 usage (unknown id, no id or no --yes
without a terminal, not confirmed), 4 restore refused or failed (the database
is as it was), 5 locked, 6 the operation log cannot be read, 130 cancelled with
Ctrl-C (nothing changed).`;

const OPTIONS = COMMAND_OPTIONS.restore;

export async function run(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, OPTIONS, 'restore');
  if (positionals.length > 1) {
    throw new SafeRunError('usage', 'restore takes one backup id', { hint: 'safe-run restore <backup-id>; see the ids with: safe-run list' });
  }
  const dryRun = Boolean(values['dry-run']);
  if (positionals.length === 0) {
    if (!canPrompt()) {
      const safeRun = shellJoin(['safe-run', ...projectArgs(contextFrom(values))]);
      throw new SafeRunError('usage', 'restore needs a backup id when there is no terminal to choose on', {
        hint: `${safeRun} restore <backup-id> --yes (or --dry-run to only look); see the ids with: ${safeRun} list`,
      });
    }
    if (values.yes) {
      throw new SafeRunError('usage', '--yes needs a backup id: without one, restore asks which backup', {
        hint: 'safe-run restore <backup-id> --yes; see the ids with: safe-run list',
      });
    }
    const ctx = contextFrom(values);
    const only = selectDatabases(ctx.config, ctx.cwd, many(values.db)).map((d) => d.name);
    return runRestoreWizard(ctx, {
      only: values.db ? only : [],
      into: values.into ? path.resolve(ctx.cwd, values.into) : undefined,
      dryRun,
      json: Boolean(values.json),
      waitMs: waitMs(values),
      preview: restorePreview(ctx),
    });
  }
  const ctx = contextFrom(values);
  const backup = pickBackup(await ctx.store.list(), positionals[0]!);
  const into = values.into ? (isUrl(values.into) ? values.into : path.resolve(ctx.cwd, values.into)) : undefined;
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
  const title = `Restore ${backup.database} (${shortPath(target, ctx.cwd)}) to backup ${shortId(backup.id)} from ${age(backup.createdAt)} (${backup.kind})`;
  if (dryRun) {
    process.stderr.write(`${title}\n`);
    await printPreview(restorePreview(ctx), backup);
    process.stderr.write(`${paintFor(process.stderr).bold('dry run')}   nothing was changed; to restore it: ${restoreCommand(ctx, backup.id, { into, yes: !canPrompt() })}\n`);
    return 0;
  }
  const details = await safetyLines(ctx, [{ backup, into }]);
  const yesCommand = restoreCommand(ctx, backup.id, { into, yes: true });
  await confirmRestore({ title, details, databases: [backup.database], yes: Boolean(values.yes), verb: 'restore', yesCommand });
  await performRestore(
    ctx,
    { backups: [backup], into, kind: 'restore', argv: ['restore', backup.id, ...(into ? ['--into', into] : [])], waitMs: waitMs(values), force: Boolean(values.force) },
    Boolean(values.json),
  );
  return 0;
}
