// Who and where: the fields every log record carries, and a new record in state "running".
import os from 'node:os';
import { newId } from '../ids.js';
import type { RunKind, RunRecord } from '../oplog/run-record.js';
import { VERSION } from '../version.js';
import type { Context } from './context.js';
import { redactArgv } from './redact.js';

export function whoAmI(): { user: string; host: string; pid: number; safeRunVersion: string } {
  let user: string;
  try {
    user = os.userInfo().username;
  } catch {
    user = process.env.USER ?? process.env.LOGNAME ?? String(process.getuid?.() ?? '?');
  }
  return { user, host: os.hostname(), pid: process.pid, safeRunVersion: VERSION };
}

/** A record for an operation starting now: a guarded run, a restore or a rollback. */
export function startRecord(
  ctx: Context,
  fields: { kind: RunKind; argv: string[]; reason?: string; databases: string[] },
): RunRecord {
  return {
    id: newId(),
    status: 'running',
    cwd: ctx.cwd,
    ...whoAmI(),
    ...fields,
    // The log keeps the command line, never a password written into a URL on it.
    argv: redactArgv(fields.argv),
    startedAt: new Date().toISOString(),
    backups: [],
  };
}
