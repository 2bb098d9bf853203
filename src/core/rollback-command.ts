// The copy-paste-safe command that undoes a run.
import type { Context } from './context.js';
import { shellJoin } from './shell-quote.js';

/**
 * `safe-run rollback <id>`, with `--config <absolute path>` in front when the config was named
 * explicitly (then the default lookup from the user's directory would find another store, or none).
 * The line ends with the id, so it is easy to spot and to select.
 */
export function rollbackCommand(ctx: Context, runId: string): string {
  const words = ['safe-run'];
  if (ctx.explicitConfig) words.push('--config', ctx.explicitConfig);
  words.push('rollback', runId);
  return shellJoin(words);
}
