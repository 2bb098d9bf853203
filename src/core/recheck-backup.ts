// Re-hash a stored backup's files and have its engine check it again, as a restore would before using it.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { CheckLevel, DatabaseConfig } from '../config.js';
import { describeCause } from '../errors.js';
import { sha256File } from '../files/sha256.js';
import type { BackupRef } from '../oplog/run-record.js';
import { filesOf, type Backup } from '../store/manifest.js';
import { engineForBackup } from './context.js';
import { withPlainSnapshot } from './plain-snapshot.js';

export interface Recheck {
  present: boolean;
  /** null when the re-check was skipped (`verify` false). */
  verified: boolean | null;
  verifyError: string | null;
}

/**
 * `backup` as the store lists it (every file, its server copy), or as a run's log entry refers to it
 * when its manifest is gone (then only its main file can be checked).
 */
export async function recheckBackup(backup: Backup | BackupRef, level: CheckLevel, verify: boolean, configured: DatabaseConfig[] = []): Promise<Recheck> {
  const dir = path.dirname(backup.path);
  const paged = 'file' in backup && backup.pages !== undefined;
  const files = 'file' in backup ? filesOf(backup).map((f) => ({ ...f, path: path.join(dir, f.name) })) : [{ path: backup.path, sha256: backup.sha256, size: backup.size }];
  for (const f of files) {
    // lstat: a link in place of a backup file is never followed (it could name any file on the machine).
    const stat = await fs.lstat(f.path).catch(() => undefined);
    // A page backup is one database file to its user: its page list missing is "the file is gone".
    if (!stat) return { present: false, verified: false, verifyError: files.length > 1 && !(paged && f === files[0]) ? `its file ${path.basename(f.path)} is gone` : 'the file is gone' };
    if (!stat.isFile()) {
      const what = stat.isSymbolicLink() ? 'a symbolic link, not followed' : stat.isDirectory() ? 'a directory' : 'a special file';
      return { present: true, verified: false, verifyError: `${path.basename(f.path)} is not a regular file (${what})` };
    }
  }
  if (!verify) return { present: true, verified: null, verifyError: null };
  const engine = await engineForBackup(backup.engine ?? 'sqlite', backup.database, backup.source, { configured });
  const serverCopy = 'file' in backup ? backup.serverCopy : undefined;
  const [hashes, check] = await Promise.all([
    Promise.all(files.map((f) => sha256File(f.path).catch((err: unknown) => err as Error))),
    // A compressed backup is checked as a restore would use it: decompressed (into the store), then verified.
    ('file' in backup ? withPlainSnapshot(backup, (s) => engine.verify({ files: s.files.map((f) => f.path), serverCopy }, level)) : engine.verify({ files: files.map((f) => f.path), serverCopy }, level)).then(
      () => undefined,
      (err: unknown) => describeCause(err),
    ),
  ]);
  const problems: string[] = [];
  hashes.forEach((sha, i) => {
    const name = files.length > 1 && !paged ? ` of ${path.basename(files[i]!.path)}` : '';
    const part = paged ? ` for its ${path.basename(files[i]!.path)}` : '';
    if (sha instanceof Error) problems.push(`cannot read it: ${describeCause(sha)}`);
    else if (sha !== files[i]!.sha256) problems.push(`sha256${name} differs from the recorded one${part} (${sha.slice(0, 12)}…): the file changed`);
  });
  if (check !== undefined) problems.push(check);
  return { present: true, verified: problems.length === 0, verifyError: problems.length ? problems.join('; ') : null };
}
