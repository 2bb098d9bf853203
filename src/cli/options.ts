// Every command's options, declared once: each command parses with its own entry, and main.ts learns
// from the same table which options take a value (so that `safe-run --kind manual list` finds "list").
// Kept free of imports beyond the shared groups, so that main.ts loads it at no cost.
import { GLOBAL_OPTIONS, RESTORE_OPTIONS, WAIT_OPTIONS, type OptionSpec } from './args.js';

export const COMMAND_OPTIONS = {
  run: {
    ...GLOBAL_OPTIONS,
    ...WAIT_OPTIONS,
    db: { type: 'string', multiple: true },
    reason: { type: 'string' },
    'rollback-on-failure': { type: 'boolean' },
  },
  backup: {
    ...GLOBAL_OPTIONS,
    ...WAIT_OPTIONS,
    db: { type: 'string', multiple: true },
    reason: { type: 'string' },
    kind: { type: 'string' },
    json: { type: 'boolean' },
  },
  rollback: RESTORE_OPTIONS,
  restore: {
    ...RESTORE_OPTIONS,
    into: { type: 'string' },
    db: { type: 'string', multiple: true },
  },
  log: {
    ...GLOBAL_OPTIONS,
    json: { type: 'boolean' },
    limit: { type: 'string' },
    failed: { type: 'boolean' },
    since: { type: 'string' },
    db: { type: 'string', multiple: true },
  },
  list: {
    ...GLOBAL_OPTIONS,
    json: { type: 'boolean' },
    db: { type: 'string', multiple: true },
    kind: { type: 'string', multiple: true },
  },
  show: { ...GLOBAL_OPTIONS, json: { type: 'boolean' }, 'no-verify': { type: 'boolean' } },
  diff: { ...GLOBAL_OPTIONS, to: { type: 'string' }, rows: { type: 'boolean' }, json: { type: 'boolean' }, db: { type: 'string', multiple: true } },
  prune: {
    ...GLOBAL_OPTIONS,
    ...WAIT_OPTIONS,
    'keep-last': { type: 'string' },
    'keep-hourly': { type: 'string' },
    'keep-daily': { type: 'string' },
    'keep-weekly': { type: 'string' },
    'keep-monthly': { type: 'string' },
    'keep-yearly': { type: 'string' },
    'max-age': { type: 'string' },
    'max-size': { type: 'string' },
    db: { type: 'string', multiple: true },
    'dry-run': { type: 'boolean', short: 'n' },
    json: { type: 'boolean' },
  },
  pin: { ...GLOBAL_OPTIONS, reason: { type: 'string' } },
  unpin: GLOBAL_OPTIONS,
  init: { ...GLOBAL_OPTIONS, db: { type: 'string', multiple: true } },
  export: { ...GLOBAL_OPTIONS, out: { type: 'string' }, zip: { type: 'boolean' }, json: { type: 'boolean' } },
  verify: {
    ...GLOBAL_OPTIONS,
    all: { type: 'boolean' },
    db: { type: 'string', multiple: true },
    level: { type: 'string' },
    'max-age': { type: 'string' },
    json: { type: 'boolean' },
  },
  doctor: {
    ...GLOBAL_OPTIONS,
    ...WAIT_OPTIONS,
    db: { type: 'string', multiple: true },
    yes: { type: 'boolean', short: 'y' },
    json: { type: 'boolean' },
  },
  serve: {
    ...GLOBAL_OPTIONS,
    db: { type: 'string', multiple: true },
    every: { type: 'string' },
    port: { type: 'string' },
    host: { type: 'string' },
    token: { type: 'string' },
    'no-dashboard': { type: 'boolean' },
    json: { type: 'boolean' },
  },
} as const satisfies Record<string, OptionSpec>;

/** "--name" of every option of any command that takes a value. */
export function valueOptions(): Set<string> {
  const names = new Set<string>();
  for (const spec of Object.values(COMMAND_OPTIONS) as OptionSpec[]) {
    for (const [name, o] of Object.entries(spec)) {
      if (o.type !== 'string') continue;
      names.add(`--${name}`);
      if (o.short) names.add(`-${o.short}`);
    }
  }
  return names;
}
