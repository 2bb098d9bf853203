// Sealed segments of the operation log: reading them (validated like the active file) and merging them
// with the active file into one list of runs.
import path from 'node:path';
import { SafeRunError } from '../errors.js';
import { DurableJsonFile } from './durable-adapter.js';
import type { ArchivedSegment, LogData, RunRecord } from './run-record.js';
import { validateLog } from './validate-log.js';

/** Where a listed segment lives: always beside the active file (the entry's name carries no path). */
export function segmentPath(logFile: string, entry: ArchivedSegment): string {
  return path.join(path.dirname(logFile), entry.file);
}

/**
 * The runs of one listed segment. A segment that is listed but missing, does not parse or holds a bad
 * entry stops the command with one line naming it, exactly as the active file does: a history with a
 * hole in it would make `rollback <id>` or a prefix answer wrongly rather than fail.
 */
export async function readSegment(logFile: string, entry: ArchivedSegment): Promise<RunRecord[]> {
  const file = segmentPath(logFile, entry);
  const data = await new DurableJsonFile<LogData>(file).read();
  if (data === null) {
    throw new SafeRunError('log', `the operation log segment ${file}, listed in ${logFile}, is missing`, {
      stage: 'log',
      hint: `put the file back, or remove its entry from "archived" in ${logFile} (its runs are then forgotten)`,
    });
  }
  return validateLog(data, file, 'repair or remove that entry (a segment is never written again after it is sealed); backups in the store are unaffected').runs;
}

/**
 * Runs in log order, each id once. The same run can be in two files after a crash between writing a
 * segment and rewriting the active file, or when a whole record was written again after archiving:
 * the later file's copy wins (segments in order, then the active file), because a run is only ever
 * changed in the active file and a segment is a copy taken from it, never changed afterwards. The
 * run keeps its first place, which is where it was appended.
 */
export function mergeRuns(parts: RunRecord[][]): RunRecord[] {
  const byId = new Map<string, RunRecord>();
  for (const part of parts) for (const run of part) byId.set(run.id, run);
  return [...byId.values()];
}

/** How many runs the log holds in all: the active file's and the count each segment entry records. */
export function totalRuns(data: LogData): number {
  return data.runs.length + (data.archived ?? []).reduce((n, s) => n + s.runs, 0);
}
