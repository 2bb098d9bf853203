// Ids for runs and backups: random hex, so that any short prefix is very likely unique (git-style).
import { randomBytes } from 'node:crypto';
import { SafeRunError } from './errors.js';

export const ID_LENGTH = 12;
export const SHORT_ID = 8;

export function newId(taken?: (id: string) => boolean): string {
  for (;;) {
    const id = randomBytes(ID_LENGTH / 2).toString('hex');
    if (!taken?.(id)) return id;
  }
}

export function shortId(id: string): string {
  return id.slice(0, SHORT_ID);
}

/**
 * Find the one item whose id starts with `prefix`. Unknown or ambiguous prefixes are usage errors that
 * name the candidates, as git does.
 */
export function resolvePrefix<T extends { id: string }>(items: T[], prefix: string, what: 'run' | 'backup', describe: (item: T) => string): T {
  const p = prefix.trim().toLowerCase();
  if (!/^[0-9a-f]{1,32}$/.test(p)) {
    throw new SafeRunError('usage', `"${prefix}" is not a ${what} id (ids are hexadecimal, e.g. 7f3a2c91)`, {
      hint: what === 'run' ? 'see the ids with: safe-run log' : 'see the ids with: safe-run list',
    });
  }
  const matches = items.filter((i) => i.id.startsWith(p));
  if (matches.length === 1) return matches[0]!;
  if (matches.length === 0) {
    throw new SafeRunError('usage', `no ${what} with id ${p}`, {
      hint: what === 'run' ? 'see the ids with: safe-run log' : 'see the ids with: safe-run list',
    });
  }
  const list = matches.slice(0, 10).map((m) => `${m.id}  ${describe(m)}`);
  throw new SafeRunError('usage', `${what} id ${p} is ambiguous; it matches:\n  ${list.join('\n  ')}`, {
    hint: 'give more characters of the id',
  });
}
