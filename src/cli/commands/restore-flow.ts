// What rollback and restore share: the question, the preview, running the restore, printing the outcome.
import { lstatSync } from 'node:fs';
import { restoreBackups, type RestoreRequest } from '../../core/restore.js';
import { engineForBackup, type Context } from '../../core/context.js';
import { describeCause, SafeRunError } from '../../errors.js';
import { shortId } from '../../ids.js';
import type { RunRecord } from '../../oplog/run-record.js';
import type { Backup } from '../../store/manifest.js';
import { paintFor } from '../render/colour.js';
import { confirmByTyping } from '../render/confirm.js';
import { eventRenderer } from '../render/events.js';
import { shortPath, when } from '../render/format.js';
import { runJson } from '../render/json.js';
import { canPrompt } from '../setup.js';
import { projectArgs } from '../../core/rollback-command.js';
import { shellJoin } from '../../core/shell-quote.js';

/**
 * The whole `safe-run restore` command for one backup, to paste anywhere: the project (-C or --config), the
 * target (--into, when it is not the backup's own database) and --yes when asked for (no terminal to confirm on).
 */
export function restoreCommand(ctx: Context, backupId: string, opts: { into?: string; yes: boolean }): string {
  return shellJoin(['safe-run', ...projectArgs(ctx), 'restore', backupId, ...(opts.into ? ['--into', opts.into] : []), ...(opts.yes ? ['--yes'] : [])]);
}

export interface RestoreQuestion {
  /** One line naming what is restored, e.g. `Roll back app to its state before "./cleanup.sh" (today 11:02)`. */
  title: string;
  /** Lines under it (later runs this also undoes, the safety backup). */
  details: string[];
  databases: string[];
  /** --yes: print the lines as information and go ahead. */
  yes: boolean;
  verb: 'restore' | 'rollback';
  /** The whole command that does it without asking (ends with --yes), printed to paste when there is no terminal. */
  yesCommand: string;
}

/**
 * Print what is about to happen (always, on stderr) and, without --yes, ask for the database's name.
 * Throws 'usage' without a terminal or when the answer is not the name, 'interrupted' on Ctrl-C.
 */
export async function confirmRestore(q: RestoreQuestion): Promise<void> {
  if (!q.yes && !canPrompt()) {
    throw new SafeRunError('usage', `${q.verb} changes ${q.databases.join(', ')} and there is no terminal to confirm on`, {
      hint: `to go ahead without a terminal, run: ${q.yesCommand}`,
    });
  }
  process.stderr.write(`${q.title}${q.yes ? '' : '?'}\n${q.details.map((l) => `  ${l}\n`).join('')}`);
  if (q.yes) return;
  const word = confirmWord(q.databases);
  if (!(await confirmByTyping(word, { action: 'continue' }))) {
    throw new SafeRunError('usage', 'not confirmed; nothing was changed', { hint: `type "${word}" exactly to go ahead` });
  }
}

/** The word to type: the database's name, or "restore" when several are restored at once. */
export function confirmWord(databases: string[]): string {
  const unique = [...new Set(databases)];
  return unique.length === 1 ? unique[0]! : 'restore';
}

/** The line that says what protects the user from the restore itself. */
export function safetyLine(databases: string[]): string {
  const unique = [...new Set(databases)];
  return `a safety backup of ${unique.join(', ')} as ${unique.length === 1 ? 'it is' : 'they are'} now is taken first`;
}

/**
 * What protects each database from the restore: a safety backup where there is a database at the target
 * now; none where there is not (`--into` a new file, a file the script deleted or replaced by a link).
 */
export async function safetyLines(ctx: Context, targets: Array<{ backup: Backup; into?: string }>): Promise<string[]> {
  const checked = await Promise.all(
    targets.map(async ({ backup, into }) => {
      const engine = await engineForBackup(backup.engine, backup.database, backup.source, { into, configured: ctx.config.databases });
      return { database: backup.database, location: engine.location, present: await engine.exists().catch(() => false) };
    }),
  );
  const kept = [...new Set(checked.filter((t) => t.present).map((t) => t.database))];
  const none = checked.filter((t) => !t.present);
  return [
    ...(kept.length ? [safetyLine(kept)] : []),
    ...none.map((t) => `no safety backup of ${t.database}: there is no database at ${shortPath(t.location, ctx.cwd)} now, so there is nothing to keep`),
  ];
}

/** Restore, render the core's events, then a summary and the command that undoes it. */
export async function performRestore(ctx: Context, req: Omit<RestoreRequest, 'onEvent'>, json: boolean): Promise<RunRecord> {
  const render = eventRenderer(ctx.cwd);
  let record: RunRecord;
  try {
    record = await restoreBackups(ctx, { ...req, onEvent: render });
  } catch (err) {
    render.stop();
    throw err;
  }
  const c = paintFor(process.stderr);
  if (json) process.stdout.write(JSON.stringify(runJson(record), null, 2) + '\n');
  for (const b of req.backups) {
    process.stderr.write(`${c.green('restored')}  ${b.database} to its state of ${when(b.createdAt)} (backup ${shortId(b.id)}, ${b.kind})\n`);
  }
  if (record.rollbackCommand) process.stderr.write(`${c.bold('undo this restore:')} ${record.rollbackCommand}\n`);
  else process.stderr.write(`(there was no database file at its path before, so there is nothing to undo to)\n`);
  return record;
}

/** Lines saying what restoring a backup would change in its database, from now to the backup. */
export type RestorePreview = (backup: Backup) => Promise<string[]>;

/**
 * What restoring a backup would change (its engine's diff, from the live database to the backup), or one
 * line saying why that is not available; never an error: the preview only informs the question.
 */
export function restorePreview(ctx: Context): RestorePreview {
  return async (backup) => {
    // The preview reads the live database: never through a link made after the backup (its target is another file).
    if (lstatOrUndefined(backup.source)?.isSymbolicLink()) {
      return [`preview not available: ${shortPath(backup.source, ctx.cwd)} is now a symbolic link, which the restore replaces`];
    }
    try {
      const { describeRestorePreview } = await import('../render/restore-preview.js');
      return await describeRestorePreview(ctx, backup);
    } catch (err) {
      return [`preview not available: ${describeCause(err)}`];
    }
  };
}

/** Print the preview beside a "preview" label, its lines aligned under the first. */
export async function printPreview(preview: RestorePreview, backup: Backup): Promise<void> {
  const c = paintFor(process.stderr);
  const lines = await preview(backup);
  if (lines.length === 0) lines.push(`restoring ${backup.database} to backup ${shortId(backup.id)} changes nothing`);
  process.stderr.write(lines.map((l, i) => `${i === 0 ? c.bold('preview') + '   ' : ' '.repeat(10)}${l}\n`).join(''));
}

function lstatOrUndefined(file: string) {
  try {
    return lstatSync(file);
  } catch {
    return undefined;
  }
}
