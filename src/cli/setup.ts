// What every command does first: load the config and build the context.
import { statSync } from 'node:fs';
import path from 'node:path';
import { loadConfig } from '../config.js';
import { createContext, type Context } from '../core/context.js';
import { SafeRunError } from '../errors.js';

export function contextFrom(values: { config?: string; directory?: string }): Context {
  const cwd = contextDirectory(values.directory);
  const config = loadConfig(cwd, values.config);
  return createContext(config, cwd, values.config ? path.resolve(cwd, values.config) : undefined);
}

/** The directory the call works in: -C DIR (resolved against the real one), else the real one. */
export function contextDirectory(directory: string | undefined): string {
  if (directory === undefined) return process.cwd();
  const dir = path.resolve(process.cwd(), directory);
  const stat = statSync(dir, { throwIfNoEntry: false });
  if (!stat?.isDirectory()) {
    throw new SafeRunError('usage', `-C ${dir}: ${stat ? 'not a directory' : 'no such directory'}`, {
      hint: "give the project's directory (where safe-run.config.json is, or where the run was made)",
    });
  }
  return dir;
}

/** Whether we may ask the user anything: never when stdin is not a terminal. */
export function canPrompt(): boolean {
  return Boolean(process.stdin.isTTY) && Boolean(process.stderr.isTTY);
}
