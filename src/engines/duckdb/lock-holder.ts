// Who holds a DuckDB file: DuckDB's own lock decides, and its error names the process that holds it.
import { readFileSync } from 'node:fs';
import { EngineError } from '../engine-errors.js';

/** "Could not set lock on file "…": Conflicting lock is held in /usr/bin/node (PID 4242)." */
const LOCK_HELD = /Could not set lock on file .*Conflicting lock is held in (.*?) \(PID (\d+)\)/s;

export interface DuckdbLockHolder {
  pid: number;
  /** The program DuckDB names, or its command line when /proc shows it ("node writer.mjs …"). */
  command: string;
}

/** The holder named by a DuckDB lock error, or undefined when `err` is not one. */
export function lockHolderOf(err: unknown): DuckdbLockHolder | undefined {
  const m = LOCK_HELD.exec(err instanceof Error ? err.message : String(err));
  if (!m) return undefined;
  const pid = Number(m[2]);
  return { pid, command: commandLineOf(pid) ?? m[1]! };
}

function commandLineOf(pid: number): string | undefined {
  try {
    const parts = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
    return parts.length ? parts.slice(0, 3).join(' ') : undefined;
  } catch {
    return undefined;
  }
}

export function describeHolder(h: DuckdbLockHolder): string {
  return `pid ${h.pid} (${h.command})`;
}

/** The one-line refusal for a database another process has open, after `waitedMs` of trying. */
export function heldError(file: string, holder: DuckdbLockHolder, doing: string, waitedMs: number): EngineError {
  const waited = waitedMs >= 1000 ? `; waited ${Math.round(waitedMs / 1000)} s` : '';
  return new EngineError('held-open', `${file} is held open by ${describeHolder(holder)}, so DuckDB lets no other process ${doing}${waited}`, {
    hint: `stop or close that process (DuckDB allows one writing process per file), or give --wait with more seconds`,
    involved: [describeHolder(holder)],
  });
}
