// safe-run pin / unpin <backup-id>: keep a backup out of every retention policy, or let it go again.
import { SafeRunError } from '../../errors.js';
import { PinFile } from '../../store/pins.js';
import { parse } from '../args.js';
import { COMMAND_OPTIONS } from '../options.js';
import { pickBackup } from '../pick.js';
import { elapsed } from '../render/format.js';
import { contextFrom } from '../setup.js';

export const help = `safe-run pin — keep a backup whatever the retention policy says

Usage: safe-run pin <backup-id> [--reason TEXT]

  <backup-id>      the backup's id or any unique prefix of it (safe-run list)
  --reason TEXT    why it is kept (recorded with the pin)
  --config PATH    use this config file

A pinned backup is never removed by safe-run prune or the automatic
retention. Pins are kept in pins.json in the backup store.
Undo with: safe-run unpin <backup-id>
Exit codes: 0 pinned (also when it already was), 2 usage (unknown or
ambiguous id), 6 the pins file cannot be read or written.`;

export async function run(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, COMMAND_OPTIONS.pin, 'pin');
  if (positionals.length !== 1) throw new SafeRunError('usage', 'pin takes one backup id', { hint: 'safe-run pin <backup-id>; see the ids with: safe-run list' });
  const ctx = contextFrom(values);
  const backup = pickBackup(await ctx.store.list(), positionals[0]!);
  const pins = new PinFile(ctx.store.root);
  await pins.update((p) => {
    p[backup.id] = { at: new Date().toISOString(), ...(values.reason ? { reason: values.reason } : {}) };
  });
  // A prune does not lock the pins (see pins.ts): make sure it did not remove the backup meanwhile.
  if (!(await ctx.store.list()).some((b) => b.id === backup.id)) {
    await pins.update((p) => delete p[backup.id]);
    throw new SafeRunError('usage', `backup ${backup.id} was removed by a prune while it was being pinned`, { hint: 'see what is left with: safe-run list' });
  }
  process.stderr.write(`pinned    ${backup.id}  ${backup.database}  ${backup.kind}, ${elapsed(backup.createdAt)} old\n`);
  process.stderr.write(`undo      safe-run unpin ${backup.id}\n`);
  return 0;
}
