// Moving the oldest finished runs out of the active log file into sealed segments, so that every
// change to the log costs the same whatever the length of the history.
import os from 'node:os';
import path from 'node:path';
import { processIsAlive, writeFileAtomic } from '../files/durable.js';
import type { ArchivedSegment, LogData, RunRecord } from './run-record.js';

/** The active file is archived down to ACTIVE_KEEP runs once it holds more than ACTIVE_MAX. */
export const ACTIVE_MAX = 1000;
export const ACTIVE_KEEP = 500;
/** No segment holds more (a log that grew before archiving existed is cut into several). */
export const SEGMENT_MAX = 5000;

const DAY = 86_400_000;

/**
 * Whether nobody can change this run any more, so that a sealed copy of it stays true. Only the process
 * that wrote a run patches it, so a run of this host is final once its process is gone (a `running`
 * one is then an interrupted run, shown as such). For another host's run the pid says nothing: it is
 * final a day after it ended, or a month after it started if it never recorded an end.
 */
export function isFinal(run: RunRecord, now: number, host = os.hostname()): boolean {
  if (run.host === host) return !processIsAlive(run.pid);
  if (run.status !== 'running' && Date.parse(run.endedAt ?? run.startedAt) < now - DAY) return true;
  return Date.parse(run.startedAt) < now - 30 * DAY;
}

/**
 * How many of the oldest runs to move out: the leading runs that are final, leaving ACTIVE_KEEP. Only
 * a leading stretch moves, so the segments followed by the active file stay in the order the runs were
 * appended; a run still going holds back the ones after it until it ends.
 */
export function runsToArchive(runs: RunRecord[], now: number): number {
  if (runs.length <= ACTIVE_MAX) return 0;
  const want = runs.length - ACTIVE_KEEP;
  let n = 0;
  while (n < want && isFinal(runs[n]!, now)) n++;
  return n;
}

/** The next segment's file name: `operations-000007.json` beside `operations.json`. */
function segmentName(logFile: string, archived: ArchivedSegment[]): string {
  const base = path.basename(logFile).replace(/\.json$/, '');
  const last = Math.max(0, ...archived.map((s) => Number(/-(\d+)\.json$/.exec(s.file)?.[1] ?? 0)));
  return `${base}-${String(last + 1).padStart(6, '0')}.json`;
}

/**
 * Called under the log's lock, before the active file is written: write each new segment (temp file,
 * fsync, rename), then take its runs out of `data` and list it. The caller's one atomic write of the
 * active file then publishes the change; a crash before it leaves an unlisted segment nobody reads
 * (the next archive reuses its name and replaces it) and every run still in the active file. A segment
 * that cannot be written (a full disk) leaves its runs where they are: archiving is an optimisation and
 * the change being made must not fail for it.
 */
export async function archiveOldRuns(logFile: string, data: LogData, now = Date.now()): Promise<void> {
  let count = runsToArchive(data.runs, now);
  while (count > 0) {
    const runs = data.runs.slice(0, Math.min(count, SEGMENT_MAX));
    const archived = data.archived ?? [];
    const starts = runs.map((r) => r.startedAt).sort();
    const entry: ArchivedSegment = { file: segmentName(logFile, archived), runs: runs.length, from: starts[0]!, to: starts.at(-1)! };
    try {
      await writeFileAtomic(path.join(path.dirname(logFile), entry.file), JSON.stringify({ version: 1, runs }, null, 1) + '\n');
    } catch {
      return;
    }
    data.archived = [...archived, entry];
    data.runs = data.runs.slice(runs.length);
    count -= runs.length;
  }
}
