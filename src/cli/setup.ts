// What every command does first: load the config and build the context.
import path from 'node:path';
import { loadConfig } from '../config.js';
import { createContext, type Context } from '../core/context.js';

export function contextFrom(values: { config?: string }): Context {
  const cwd = process.cwd();
  const config = loadConfig(cwd, values.config);
  return createContext(config, cwd, values.config ? path.resolve(cwd, values.config) : undefined);
}

/** Whether we may ask the user anything: never when stdin is not a terminal. */
export function canPrompt(): boolean {
  return Boolean(process.stdin.isTTY) && Boolean(process.stderr.isTTY);
}
