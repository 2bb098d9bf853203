// Check a parsed operation log entry by entry before anyone uses it, so a damaged log stops safe-run
// with one line naming the bad entry instead of a crash halfway through a run.
import { SafeRunError } from '../errors.js';
import type { ArchivedSegment, LogData, RunRecord, RunStatus } from './run-record.js';

const STATUSES: ReadonlySet<RunStatus> = new Set(['running', 'succeeded', 'failed', 'aborted', 'interrupted']);

/** What is wrong with one entry, or undefined when it is a run record every reader can use. */
function problemOf(run: unknown): string | undefined {
  if (run === null || typeof run !== 'object' || Array.isArray(run)) return `is ${describe(run)}, not a run record`;
  const r = run as Partial<Record<keyof RunRecord, unknown>>;
  if (typeof r.id !== 'string' || r.id === '') return 'has no "id"';
  if (typeof r.kind !== 'string') return `(${r.id}) has no "kind"`;
  if (typeof r.status !== 'string' || !STATUSES.has(r.status as RunStatus)) return `(${r.id}) has no valid "status"`;
  if (typeof r.startedAt !== 'string' || Number.isNaN(Date.parse(r.startedAt))) return `(${r.id}) has no valid "startedAt"`;
  if (!isStringArray(r.argv)) return `(${r.id}) has no "argv" list of strings`;
  if (!isStringArray(r.databases)) return `(${r.id}) has no "databases" list of strings`;
  if (!Array.isArray(r.backups)) return `(${r.id}) has no "backups" list`;
  for (const [i, b] of r.backups.entries()) {
    const ref = b as Record<string, unknown> | null;
    if (!ref || typeof ref !== 'object' || typeof ref.id !== 'string' || typeof ref.path !== 'string' || typeof ref.database !== 'string') {
      return `(${r.id}) has a backup (backups[${i}]) that is not a backup reference`;
    }
  }
  if (r.backupSkipped !== undefined) {
    const s = r.backupSkipped as { reason?: unknown } | null;
    if (!s || typeof s !== 'object' || typeof s.reason !== 'string') return `(${r.id}) has a "backupSkipped" without a "reason"`;
  }
  return undefined;
}

/**
 * The log as data every reader can rely on, or a SafeRunError('log') naming the file and the first bad
 * entry (exit 6; 125 for a guarded run, before anything runs). The file itself is never touched here.
 */
export function validateLog(data: unknown, file: string, entryHint?: string): LogData {
  const d = data as { runs?: unknown } | null;
  if (!d || typeof d !== 'object' || Array.isArray(d) || !Array.isArray(d.runs)) {
    throw new SafeRunError('log', `the operation log ${file} is not a safe-run log (no "runs" list); it was left as it is`, {
      stage: 'log',
      hint: 'point logFile in the config elsewhere, or move the file aside',
    });
  }
  for (const [i, run] of d.runs.entries()) {
    const problem = problemOf(run);
    if (problem) {
      throw new SafeRunError('log', `the operation log ${file} is damaged: runs[${i}] ${problem}; it was left as it is`, {
        stage: 'log',
        hint: entryHint ?? `repair or remove that entry, or move the file aside (safe-run starts a new log then); backups in the store are unaffected`,
      });
    }
  }
  const archived = (d as { archived?: unknown }).archived;
  if (archived !== undefined) {
    const entries = Array.isArray(archived) ? archived : [archived];
    for (const [i, entry] of entries.entries()) {
      if (!Array.isArray(archived) || !isSegmentEntry(entry)) {
        throw new SafeRunError('log', `the operation log ${file} is damaged: archived[${i}] is not a segment entry; it was left as it is`, {
          stage: 'log',
          hint: 'each entry names a file beside the log ({"file": "operations-000001.json", "runs": N, "from": …, "to": …}); repair it or move the log aside',
        });
      }
    }
  }
  return d as LogData;
}

/** A segment entry names a plain file in the log's own directory, never a path elsewhere. */
function isSegmentEntry(e: unknown): e is ArchivedSegment {
  const s = e as Partial<ArchivedSegment> | null;
  return (
    !!s &&
    typeof s === 'object' &&
    typeof s.file === 'string' &&
    /^[\w.-]+\.json$/.test(s.file) &&
    !s.file.startsWith('.') &&
    Number.isInteger(s.runs) &&
    typeof s.from === 'string' &&
    typeof s.to === 'string'
  );
}

/** Whether `run` is a whole run record. */
export function isRunRecord(run: unknown): run is RunRecord {
  return problemOf(run) === undefined;
}

function isStringArray(v: unknown): v is string[] {
  return Array.isArray(v) && v.every((x) => typeof x === 'string');
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'string') return `the string ${JSON.stringify(v.length > 20 ? `${v.slice(0, 20)}…` : v)}`;
  return `${typeof v === 'object' ? 'an object' : `the ${typeof v}`} ${typeof v === 'object' ? '' : String(v)}`.trim();
}
