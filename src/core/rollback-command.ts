// The copy-paste-safe command that undoes a run.
import path from 'node:path';
import type { Context } from './context.js';
import { shellJoin } from './shell-quote.js';

/**
 * The words that make a safe-run command find this call's config, log and store from any directory:
 * `--config <absolute path>` when the config was named explicitly (it may sit anywhere, under any name),
 * otherwise `-C <absolute directory>`: the config file's directory, or, without a config file, the
 * directory whose default `logs/` and `backups/` were used.
 */
export function projectArgs(ctx: Context): string[] {
  if (ctx.explicitConfig) return ['--config', ctx.explicitConfig];
  return ['-C', ctx.config.file ? path.dirname(ctx.config.file) : ctx.cwd];
}

/** `safe-run -C /abs/project rollback <id>`. The line ends with the id, so it is easy to spot and to select. */
export function rollbackCommand(ctx: Context, runId: string): string {
  return shellJoin(['safe-run', ...projectArgs(ctx), 'rollback', runId]);
}
