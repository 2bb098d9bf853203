// After a guarded command failed, on a terminal: ask whether to restore the backups taken before it.
import { paintFor } from '../render/colour.js';
import { confirmByTyping } from '../render/confirm.js';
import { canPrompt } from '../setup.js';
import { confirmWord, safetyLine } from './restore-flow.js';

export interface OfferRestoreOptions {
  /** The command's exit status as people read it, e.g. "exit 1 after 3.1 s" or "killed by SIGTERM". */
  exitLabel: string;
  /** The compact diff of what the command changed, printed as given, one line each (may be empty). */
  diffLines: string[];
}

/**
 * Ask whether to restore `databases` to the backups taken before a command that failed.
 *
 * - Without a terminal (stdin and stderr must both be TTYs) it prints nothing and resolves false at
 *   once: the caller prints the rollback command as usual.
 * - On a terminal it prints the exit status and `diffLines`, then
 *   `The command failed. Restore <db> to the backup taken before it?`, answered by typing the database's
 *   name ("restore" when there are several). Enter, anything else, Ctrl-C or Esc mean no: it prints one
 *   line saying the databases were kept as the command left them and resolves false.
 *
 * The guard calls it while it still holds the databases' locks, and restores itself when it resolves
 * true, so no other safe-run can slip in between the question and the restore.
 */
export async function askRestoreAfterFailure(databases: string[], opts: OfferRestoreOptions): Promise<boolean> {
  if (!canPrompt() || databases.length === 0) return false;
  const c = paintFor(process.stderr);
  const unique = [...new Set(databases)];
  const names = unique.join(', ');
  process.stderr.write(`${'status'.padEnd(10)}${c.red(opts.exitLabel)}\n`);
  for (const line of opts.diffLines) process.stderr.write(`${line}\n`);
  const them = unique.length === 1 ? 'the backup' : 'the backups';
  process.stderr.write(`The command failed. Restore ${names} to ${them} taken before it?\n  ${safetyLine(unique)}\n`);
  const word = confirmWord(unique);
  // Ctrl-C means no here: the command has already run, so there is nothing to interrupt.
  if (!(await confirmByTyping(word, { action: 'restore', decline: 'keep it as it is', onCancel: 'decline' }))) {
    process.stderr.write(`${'kept'.padEnd(10)}${names} as the command left ${unique.length === 1 ? 'it' : 'them'}\n`);
    return false;
  }
  return true;
}
