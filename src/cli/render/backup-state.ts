// Whether a backup's file is still there and still good: a cheap look (list) and a full re-check (show).
import { promises as fs } from 'node:fs';
import type { CheckLevel } from '../../config.js';
import { engineForBackup } from '../../core/context.js';
import { describeCause } from '../../errors.js';
import { sha256File } from '../../files/sha256.js';
import type { BackupRef } from '../../oplog/run-record.js';
import type { Backup } from '../../store/manifest.js';
import type { Paint } from './colour.js';

/**
 * verified: the check passed when it was taken and the file is there with its recorded size;
 * missing: the file is gone; changed: its size differs; unverified: the recorded check did not pass.
 */
export type FileState = 'verified' | 'missing' | 'changed' | 'unverified';

/** The cheap look `list` takes: one stat per backup, no hashing (`show` re-hashes and re-checks). */
export async function fileState(b: Backup): Promise<FileState> {
  const stat = await fs.stat(b.path).catch(() => undefined);
  if (!stat?.isFile()) return 'missing';
  if (stat.size !== b.size) return 'changed';
  return b.facts?.check?.result === 'ok' ? 'verified' : 'unverified';
}

export function paintState(state: FileState, c: Paint): string {
  return state === 'verified' ? c.green(state) : state === 'missing' ? c.red(state) : c.yellow(state);
}

export interface Recheck {
  present: boolean;
  /** null when the re-check was skipped (--no-verify). */
  verified: boolean | null;
  verifyError: string | null;
}

/** Re-hash the file and run the engine's integrity check on it, as a restore would before using it. */
export async function recheckBackup(ref: BackupRef, level: CheckLevel, verify: boolean): Promise<Recheck> {
  const stat = await fs.stat(ref.path).catch(() => undefined);
  if (!stat?.isFile()) return { present: false, verified: false, verifyError: 'the file is gone' };
  if (!verify) return { present: true, verified: null, verifyError: null };
  const engine = await engineForBackup(ref.database, ref.source);
  const [sha, check] = await Promise.all([
    sha256File(ref.path).catch((err: unknown) => err as Error),
    engine.verify(ref.path, level).then(
      () => undefined,
      (err: unknown) => describeCause(err),
    ),
  ]);
  const problems: string[] = [];
  if (sha instanceof Error) problems.push(`cannot read it: ${describeCause(sha)}`);
  else if (sha !== ref.sha256) problems.push(`sha256 differs from the recorded one (${sha.slice(0, 12)}…): the file changed`);
  if (check !== undefined) problems.push(check);
  return { present: true, verified: problems.length === 0, verifyError: problems.length ? problems.join('; ') : null };
}
