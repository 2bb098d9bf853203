// File engines have one way to back up: the config's "strategy" key is refused rather than ignored.
import { SafeRunError } from '../errors.js';

/** A database kind with one way to back up refuses the config's "strategy" key rather than ignore it. */
export function noStrategies(engine: string, name: string, options: Record<string, unknown> | undefined): SafeRunError | undefined {
  if (options?.strategy === undefined) return undefined;
  return new SafeRunError('config', `database "${name}": ${engine} has no backup strategies to choose from (got "${String(options.strategy)}")`, {
    stage: 'config',
    database: name,
    hint: 'remove "strategy" from its entry; strategies are for PostgreSQL and MariaDB',
  });
}
