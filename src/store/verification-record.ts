// The last re-verification of each backup, kept beside its manifest in `last-verified.json`.
//
// Why a file per backup rather than one `verified.json` for the store: two verify runs (cron and a
// person) never write the same file, so no lock is needed; it goes away with its backup; `list` reads
// one small file per backup it already stats. Why not a field in the manifest: the manifest is the
// record written when the backup was taken and is checked against the log; it is never rewritten.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { CheckLevel } from '../config.js';
import { writeFileAtomic } from '../files/durable.js';

export const VERIFIED_FILE = 'last-verified.json';

export interface VerificationRecord {
  /** When it was re-verified (ISO time). */
  at: string;
  level: CheckLevel;
  ok: boolean;
  /** What was wrong, when it was not ok. */
  problems: string[];
}

/** The last verification of the backup whose main file is `backupPath`; undefined if never (or unreadable). */
export async function lastVerification(backupPath: string): Promise<VerificationRecord | undefined> {
  try {
    const record = JSON.parse(await fs.readFile(path.join(path.dirname(backupPath), VERIFIED_FILE), 'utf8')) as VerificationRecord;
    return typeof record?.at === 'string' && typeof record.ok === 'boolean' ? record : undefined;
  } catch {
    return undefined;
  }
}

/** Record a verification (temp file → fsync → rename, so a reader sees the old record or the new). */
export async function recordVerification(backupPath: string, record: VerificationRecord): Promise<void> {
  await writeFileAtomic(path.join(path.dirname(backupPath), VERIFIED_FILE), JSON.stringify(record, null, 2) + '\n');
}
