// Whether backups are switched off (config `enabled: false`, or SAFE_RUN_DISABLE=1), and why, in words.
import type { Config } from '../config.js';
import { SafeRunError } from '../errors.js';

export interface BackupsOff {
  /** Which switch: the environment variable or the config key. */
  by: 'SAFE_RUN_DISABLE' | 'config';
  /** One line for the warning and the log: what switched them off. */
  reason: string;
}

const ON = new Set(['1', 'true', 'yes', 'on']);
const OFF = new Set(['', '0', 'false', 'no', 'off']);

/**
 * Why backups are off, or undefined when they are on. SAFE_RUN_DISABLE must say yes or no plainly: a
 * value like "maybe" is refused (a usage error) rather than guessed either way.
 */
export function backupsSwitchedOff(config: Config, env: NodeJS.ProcessEnv = process.env): BackupsOff | undefined {
  const raw = env.SAFE_RUN_DISABLE;
  if (raw !== undefined) {
    const v = raw.trim().toLowerCase();
    if (ON.has(v)) return { by: 'SAFE_RUN_DISABLE', reason: `SAFE_RUN_DISABLE=${raw} is set in the environment` };
    if (!OFF.has(v)) {
      throw new SafeRunError('usage', `SAFE_RUN_DISABLE="${raw}" is neither yes nor no`, {
        hint: 'set SAFE_RUN_DISABLE=1 to switch backups off, or unset it',
      });
    }
  }
  if (!config.enabled) return { by: 'config', reason: `"enabled": false in ${config.file ?? 'the config'}` };
  return undefined;
}

/** The refusal of the commands that exist to take backups (backup, serve) while backups are off. */
export function refuseWhileOff(command: string, off: BackupsOff): SafeRunError {
  return new SafeRunError('config', `${command}: backups are switched off (${off.reason})`, {
    stage: 'config',
    hint: off.by === 'SAFE_RUN_DISABLE' ? 'unset SAFE_RUN_DISABLE to take backups' : 'remove "enabled": false from the config to take backups',
  });
}
