// After a guarded command failed, on a terminal: offer to restore the backups taken before it.
import type { Context } from '../../core/context.js';
import type { RunRecord } from '../../oplog/run-record.js';
import type { Backup } from '../../store/manifest.js';
import { paintFor } from '../render/colour.js';
import { confirmByTyping } from '../render/confirm.js';
import { canPrompt } from '../setup.js';
import { confirmWord, performRestore, safetyLine } from './restore-flow.js';

export interface OfferRestoreOptions {
  /** The command's exit status as people read it, e.g. "exit 1 after 3.1 s" or "killed by SIGTERM". */
  exitLabel: string;
  /** The compact diff of what the command changed, printed as given, one line each (may be empty). */
  diffLines: string[];
  /** How long to wait for another safe-run's lock on the databases, in ms. */
  waitMs: number;
}

/**
 * Ask whether to restore `backups` (the pre-run backups of `run`) after its command failed.
 *
 * - Without a terminal (stdin and stderr must both be TTYs) it prints nothing and returns 'declined'
 *   at once: the caller prints the rollback command as usual.
 * - On a terminal it prints the exit status and `diffLines`, then
 *   `The command failed. Restore <db> to the backup taken before it?`, answered by typing the database's
 *   name ("restore" when there are several). Enter, anything else, Ctrl-C or Esc mean no: it prints one
 *   line saying the databases were kept as the command left them and returns 'declined'.
 * - Confirmed, it restores through the core (a run of kind 'rollback', argv ['rollback', run.id], with a
 *   safety backup first), prints its progress, a summary and the command that undoes the restore, and
 *   returns 'restored'.
 * - If that restore fails it throws the SafeRunError (the core has put the databases back); the caller
 *   reports it and exits 125.
 *
 * Call it after the guard has released the databases' locks: the restore takes them itself, waiting up
 * to `waitMs`. `--rollback-on-failure` is the caller's business (then do not call this).
 */
export async function offerRestoreAfterFailure(
  ctx: Context,
  run: RunRecord,
  backups: Backup[],
  opts: OfferRestoreOptions,
): Promise<'restored' | 'declined'> {
  if (!canPrompt() || backups.length === 0) return 'declined';
  const c = paintFor(process.stderr);
  const databases = [...new Set(backups.map((b) => b.database))];
  const names = databases.join(', ');
  process.stderr.write(`${'status'.padEnd(10)}${c.red(opts.exitLabel)}\n`);
  for (const line of opts.diffLines) process.stderr.write(`${line}\n`);
  const them = databases.length === 1 ? 'the backup' : 'the backups';
  process.stderr.write(`The command failed. Restore ${names} to ${them} taken before it?\n  ${safetyLine(databases)}\n`);
  const word = confirmWord(databases);
  // Ctrl-C means no here: the command has already run, so there is nothing to interrupt.
  if (!(await confirmByTyping(word, { action: 'restore', decline: 'keep it as it is', onCancel: 'decline' }))) {
    process.stderr.write(`${'kept'.padEnd(10)}${names} as the command left ${databases.length === 1 ? 'it' : 'them'}\n`);
    return 'declined';
  }
  await performRestore(
    ctx,
    { backups, kind: 'rollback', argv: ['rollback', run.id], reason: `rollback of ${run.id} after it failed`, waitMs: opts.waitMs },
    false,
  );
  return 'restored';
}
