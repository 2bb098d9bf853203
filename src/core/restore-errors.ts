// What a failed restore says: the real cause (the backup, the disk, a link, a busy database) and its fix.
import { RestorePlaceError } from '../engines/engine.js';
import { ChecksumMismatchError } from '../engines/sqlite-restore.js';
import { OpenedMeanwhileError } from '../engines/sqlite-swap.js';
import { CheckFailedError, summariseCheck } from '../engines/sqlite-facts.js';
import { LinkInPathError } from '../engines/sqlite-target.js';
import { WalPageSizeError } from '../engines/sqlite-wal-page-size.js';
import { describeCause, errnoOf, SafeRunError } from '../errors.js';
import type { Backup } from '../store/manifest.js';

const NO_SPACE = new Set(['ENOSPC', 'EDQUOT', 'SQLITE_FULL']);
const NOT_ALLOWED = new Set(['EACCES', 'EPERM', 'EROFS']);

function codeOf(err: unknown): string | undefined {
  return errnoOf(err) ?? (err as { code?: string } | undefined)?.code;
}

/** The place a restore writes to could not be made ready (a link in its path, a directory not creatable). */
export function targetRefused(backup: Backup, location: string, err: unknown): SafeRunError {
  if (err instanceof LinkInPathError) {
    return new SafeRunError('restore', `cannot restore ${backup.database}: ${err.message}, and a restore never writes through a link it did not back up`, {
      stage: 'identity',
      database: backup.database,
      backupId: backup.id,
      hint: `nothing was changed; remove the link (rm ${err.link}) and run the same command again: safe-run creates the directory`,
      cause: err,
    });
  }
  return new SafeRunError('restore', `cannot restore ${backup.database}: cannot create the directory of ${location}: ${describeCause(err)}`, {
    stage: 'restore',
    database: backup.database,
    backupId: backup.id,
    hint: 'nothing was changed; create that directory (or make its parent writable), then run the same command again',
    cause: err,
  });
}

/**
 * Staging failed. Only a backup that does not match its checksum or fails its check is the backup's
 * fault; no space, no permission or a busy database is said as such, with what to do about it.
 */
export function stageRefused(backup: Backup, storeRoot: string, err: unknown): SafeRunError {
  if (err instanceof SafeRunError) return err;
  const code = codeOf(err);
  const fields = { database: backup.database, backupId: backup.id, cause: err };
  if (err instanceof RestorePlaceError && (NO_SPACE.has(code ?? '') || NOT_ALLOWED.has(code ?? ''))) {
    const what = err.place === 'beside' ? `the verified copy of the backup beside the database, in ${err.dir}` : `the safety backup of ${backup.database} as it is now, in the store ${storeRoot}`;
    const fix = NO_SPACE.has(code!)
      ? err.place === 'beside'
        ? `free at least ${mb(backup.size)} in ${err.dir}`
        : `free space in ${storeRoot}, or set "backupDir" to a disk with room`
      : `make ${err.place === 'beside' ? err.dir : storeRoot} writable for this user, or run safe-run as the user who owns it`;
    return new SafeRunError('restore', `cannot restore ${backup.database}: ${describeCause(err)} for ${what}`, {
      ...fields,
      stage: err.place === 'beside' ? 'stage' : 'safety',
      hint: `nothing was changed; ${fix}, then run the same command again`,
    });
  }
  if (code === 'SQLITE_BUSY') {
    return new SafeRunError('restore', `cannot restore ${backup.database}: the database is busy (another process kept it locked while safe-run waited to keep it as it is now)`, {
      ...fields,
      stage: 'safety',
      hint: 'nothing was changed; run the same command again once that process has finished writing (or stop it)',
    });
  }
  const what =
    err instanceof ChecksumMismatchError
      ? `its sha256 does not match the one recorded (${err.message})`
      : err instanceof CheckFailedError
        ? `it fails the integrity check (${summariseCheck(err.result)})`
        : describeCause(err);
  return new SafeRunError('restore', `refusing to restore backup ${backup.id} of ${backup.database}: ${what}`, {
    ...fields,
    stage: 'verify',
    hint: 'the live database was not touched; pick another backup with: safe-run list',
  });
}

/** The swap failed; the engine has put the database back as it was. */
export function swapFailed(backup: Backup, err: unknown): SafeRunError {
  const fields = { stage: 'swap', database: backup.database, backupId: backup.id, cause: err };
  if (err instanceof WalPageSizeError) {
    return new SafeRunError('restore', `cannot restore ${backup.database} while it is open: ${err.message}; nothing was changed`, {
      ...fields,
      hint: 'stop the processes that hold it open, then run the same command again: with nobody holding it, safe-run renames the restored file in',
    });
  }
  if (err instanceof OpenedMeanwhileError) {
    return new SafeRunError('restore', `restoring ${backup.database} failed: ${err.message}`, { ...fields, hint: 'nothing was lost; run the same command again once it is closed' });
  }
  const code = codeOf(err);
  const hint = NO_SPACE.has(code ?? '')
    ? 'nothing was lost; free space beside the database, then run the same command again'
    : NOT_ALLOWED.has(code ?? '')
      ? 'nothing was lost; make the database and its directory writable for this user, then run the same command again'
      : code === 'SQLITE_BUSY'
        ? 'nothing was lost; the database stayed busy: run again with a longer --wait, or when its users are done'
        : 'nothing was lost; check free space and permissions beside the database, then try again';
  return new SafeRunError('restore', `restoring ${backup.database} failed: ${describeCause(err)}; the database was put back as it was`, { ...fields, hint });
}

function mb(bytes: number): string {
  return bytes >= 1 << 20 ? `${(bytes / (1 << 20)).toFixed(1)} MB` : `${Math.ceil(bytes / 1024)} KB`;
}
