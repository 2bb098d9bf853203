// What rollback and restore share: confirmation, running the restore, printing the outcome.
import { restoreBackups, type RestoreRequest } from '../../core/restore.js';
import type { Context } from '../../core/context.js';
import { SafeRunError } from '../../errors.js';
import type { RunRecord } from '../../oplog/run-record.js';
import { paintFor } from '../render/colour.js';
import { confirmByTyping } from '../render/confirm.js';
import { eventRenderer } from '../render/events.js';
import { runJson } from '../render/json.js';
import { canPrompt } from '../setup.js';

export async function confirmRestore(lines: string[], databases: string[], yes: boolean, verb: string): Promise<void> {
  if (yes) return;
  if (!canPrompt()) {
    throw new SafeRunError('usage', `${verb} changes ${databases.join(', ')} and there is no terminal to confirm on`, {
      hint: `add --yes to confirm: safe-run ${verb} … --yes`,
    });
  }
  process.stderr.write(lines.join('\n') + '\n');
  const word = databases.length === 1 ? databases[0]! : 'restore';
  if (!(await confirmByTyping('  a safety backup of the database as it is now is taken first', word))) {
    throw new SafeRunError('usage', 'not confirmed; nothing was changed', { hint: `type "${word}" exactly to go ahead` });
  }
}

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
  if (record.rollbackCommand) process.stderr.write(`${c.bold('undo this restore:')} ${record.rollbackCommand}\n`);
  else process.stderr.write(`(the database did not exist before, so there is nothing to undo to)\n`);
  return record;
}
