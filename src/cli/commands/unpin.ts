// safe-run unpin <backup-id>: let retention decide about a pinned backup again.
import { SafeRunError } from '../../errors.js';
import { resolvePrefix } from '../../ids.js';
import { PinFile } from '../../store/pins.js';
import { parse } from '../args.js';
import { COMMAND_OPTIONS } from '../options.js';
import { contextFrom } from '../setup.js';

export const help = `safe-run unpin — let retention decide about a pinned backup again

Usage: safe-run unpin <backup-id>

  <backup-id>      the pinned backup's id or any unique prefix of it
  --config PATH    use this config file

Nothing is removed now: the next safe-run prune (or automatic retention)
decides. See what it would do with: safe-run prune --dry-run
Exit codes: 0 unpinned (also when it was not pinned), 2 usage (unknown or
ambiguous id), 6 the pins file cannot be read or written.`;

export async function run(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, COMMAND_OPTIONS.unpin, 'unpin');
  if (positionals.length !== 1) throw new SafeRunError('usage', 'unpin takes one backup id', { hint: 'safe-run unpin <backup-id>; see the ids with: safe-run list' });
  const ctx = contextFrom(values);
  const pins = new PinFile(ctx.store.root);
  const wanted = positionals[0]!;
  // Pinned ids first (a pin may outlive a backup someone removed by hand), then the store's backups.
  const pinned = Object.keys(await pins.read()).map((id) => ({ id }));
  const stored = (await ctx.store.list()).map((b) => ({ id: b.id }));
  const pool = pinned.some((p) => p.id.startsWith(wanted)) ? pinned : stored;
  const { id } = resolvePrefix(pool, wanted, 'backup', (b) => b.id);
  const was = await pins.update((p) => {
    const had = id in p;
    delete p[id];
    return had;
  });
  process.stderr.write(was ? `unpinned  ${id}; retention decides about it again\nundo      safe-run pin ${id}\n` : `${id} was not pinned; nothing changed\n`);
  return 0;
}
