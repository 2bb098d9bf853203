// Argument parsing over node:util parseArgs: strict, with one-line usage errors that name the fix.
import { parseArgs, type ParseArgsConfig } from 'node:util';

type ParseResult<O extends OptionSpec> = ReturnType<typeof parseArgs<{ args: string[]; options: O; allowPositionals: true; strict: true }>>;
import { SafeRunError } from '../errors.js';

export type OptionSpec = NonNullable<ParseArgsConfig['options']>;

/** Options every command takes. */
export const GLOBAL_OPTIONS = {
  config: { type: 'string' },
  // As git -C and make -C: work as if started in DIR. Printed rollback commands carry it, so that they
  // find the same config, log and store when pasted in another directory.
  directory: { type: 'string', short: 'C' },
  help: { type: 'boolean', short: 'h' },
  debug: { type: 'boolean' },
} as const satisfies OptionSpec;

/** Options of commands that lock databases. */
export const WAIT_OPTIONS = {
  wait: { type: 'string' },
  'no-wait': { type: 'boolean' },
} as const satisfies OptionSpec;

/** Options of the commands that restore (rollback, restore). */
export const RESTORE_OPTIONS = {
  ...GLOBAL_OPTIONS,
  ...WAIT_OPTIONS,
  yes: { type: 'boolean', short: 'y' },
  json: { type: 'boolean' },
  'dry-run': { type: 'boolean', short: 'n' },
  force: { type: 'boolean' },
} as const satisfies OptionSpec;

export function parse<O extends OptionSpec>(args: string[], options: O, command: string): ParseResult<O> {
  try {
    return parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (err) {
    const first = (err as Error).message.split('\n')[0]!;
    const dashValue = /^Option '(--[\w-]+)' argument is ambiguous/.exec(first);
    const message = dashValue
      ? `${dashValue[1]} needs a value (for one starting with "-", write ${dashValue[1]}=-…)`
      : first.replace(/^Unknown option '(.*?)'.*$/, "unknown option '$1'");
    const hint = command === 'safe-run' ? 'see: safe-run --help' : `see: safe-run ${command} --help`;
    throw new SafeRunError('usage', command === 'safe-run' ? message : `${command}: ${message}`, { hint });
  }
}

/** --wait SECONDS / --no-wait, as milliseconds (default 30 s). */
export function waitMs(values: { wait?: string; 'no-wait'?: boolean }): number {
  if (values['no-wait']) return 0;
  if (values.wait === undefined) return 30_000;
  const seconds = Number(values.wait);
  if (!Number.isFinite(seconds) || seconds < 0) {
    throw new SafeRunError('usage', `--wait takes a number of seconds, not "${values.wait}"`, { hint: 'e.g. --wait 120' });
  }
  return Math.round(seconds * 1000);
}

/** The values of a repeatable string option as a list. */
export function many(value: string | string[] | undefined): string[] {
  if (value === undefined) return [];
  return Array.isArray(value) ? value : [value];
}
