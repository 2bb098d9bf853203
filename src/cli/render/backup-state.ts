// Whether a backup's files are still there: the cheap look `list` takes (show re-checks: core/recheck-backup).
import { promises as fs } from 'node:fs';
import type { SnapshotFacts } from '../../engines/engine.js';
import { filesOf, type Backup } from '../../store/manifest.js';
import type { Paint } from './colour.js';

/**
 * verified: the check passed when it was taken and the file is there with its recorded size;
 * missing: the file is gone; changed: its size differs; unverified: the recorded check did not pass.
 */
export type FileState = 'verified' | 'missing' | 'changed' | 'unverified';

/** The cheap look `list` takes: one stat per backup, no hashing (`show` re-hashes and re-checks). */
export async function fileState(b: Backup): Promise<FileState> {
  const stat = await fs.lstat(b.path).catch(() => undefined); // a link in its place is not the backup
  if (!stat) return 'missing';
  if (!stat.isFile() || stat.size !== filesOf(b)[0]!.size) return 'changed'; // a page backup's size is its whole file's
  return checkPassed(b.facts) ? 'verified' : 'unverified';
}

export function paintState(state: FileState, c: Paint): string {
  return state === 'verified' ? c.green(state) : state === 'missing' ? c.red(state) : c.yellow(state);
}

/** Whether a backup's recorded check passed: "ok", or "ok: …" where an engine says what it compared. */
export function checkPassed(facts: Pick<SnapshotFacts, 'check'> | undefined): boolean {
  return /^ok\b/.test(facts?.check?.result ?? '');
}

/**
 * The check a backup passed, in a few words: SQLite's pragma ("quick_check ok"), or what a server engine
 * says it compared ("clone: ok: row counts match the source").
 */
export function checkLabel(facts: Pick<SnapshotFacts, 'check' | 'strategy'>): string {
  if (!facts.strategy) return facts.check.result === 'ok' ? `${facts.check.level}_check ok` : facts.check.result;
  const how = facts.strategy.split(' ')[0];
  return facts.check.result === 'ok' ? `${how}, ${facts.check.level} check ok` : `${how}, ${facts.check.result.replace(/^ok: /, '')}`;
}
