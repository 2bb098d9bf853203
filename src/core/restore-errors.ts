// What a failed restore says: the real cause (the backup, the disk, a link, a busy database) and its fix.
// Engines explain their own failures (EngineError: a reason, a message, a hint); this file only says
// which database and what was (not) changed, so it never needs to know which engine it talks to.
import { EngineError, isEngineError, RestorePlaceError } from '../engines/engine-errors.js';
import { describeCause, errnoOf, SafeRunError } from '../errors.js';
import type { Backup } from '../store/manifest.js';

const NO_SPACE = new Set(['ENOSPC', 'EDQUOT', 'SQLITE_FULL']);
const NOT_ALLOWED = new Set(['EACCES', 'EPERM', 'EROFS']);

function codeOf(err: unknown): string | undefined {
  return errnoOf(err) ?? (err as { code?: string } | undefined)?.code;
}

/** The place a restore writes to could not be made ready (a link in its path, a directory not creatable). */
export function targetRefused(backup: Backup, location: string, err: unknown): SafeRunError {
  if (isEngineError(err, 'unsafe-target')) {
    return new SafeRunError('restore', `cannot restore ${backup.database}: ${err.message}`, {
      stage: 'identity',
      database: backup.database,
      backupId: backup.id,
      hint: `nothing was changed; ${err.hint ?? 'check the path of the database'}`,
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
  if (err instanceof RestorePlaceError && (err.failure === 'no-space' || err.failure === 'permission')) {
    const what = err.place === 'beside' ? `the verified copy of the backup beside the database, in ${err.dir}` : `the safety backup of ${backup.database} as it is now, in the store ${storeRoot}`;
    const fix =
      err.failure === 'no-space'
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
  if (isEngineError(err, 'busy') || code === 'SQLITE_BUSY') {
    return new SafeRunError('restore', `cannot restore ${backup.database}: the database is busy (another process kept it locked while safe-run waited to keep it as it is now)`, {
      ...fields,
      stage: 'safety',
      hint: 'nothing was changed; run the same command again once that process has finished writing (or stop it)',
    });
  }
  if (err instanceof EngineError && err.failure !== 'checksum' && err.failure !== 'check-failed' && err.hint) {
    return new SafeRunError('restore', `cannot restore ${backup.database}: ${err.message}`, { ...fields, stage: 'stage', hint: `nothing was changed; ${err.hint}` });
  }
  // A page backup that cannot be put together (a pack gone, a page missing or changed) says so itself,
  // starting with the backup's id: no whole-file sha256 was compared then, so do not claim one differs.
  const ownWords = isEngineError(err, 'checksum') && err.message.startsWith(`backup ${backup.id}`);
  const what = ownWords
    ? ((detail) => (detail.startsWith('it ') ? detail : `it is damaged: ${detail}`))(err.message.replace(`backup ${backup.id} is damaged: `, '').replace(`backup ${backup.id}: `, ''))
    : isEngineError(err, 'checksum')
    ? `its sha256 does not match the one recorded (${err.message})`
    : isEngineError(err, 'check-failed')
      ? `it fails the integrity check (${err.message.replace(/^integrity check failed: /, '')})`
      : describeCause(err);
  return new SafeRunError('restore', `refusing to restore backup ${backup.id} of ${backup.database}: ${what}`, {
    ...fields,
    stage: 'verify',
    hint: 'the live database was not touched; pick another backup with: safe-run list',
  });
}

/** The swap failed; the engine has put the database back as it was. */
export function swapFailed(backup: Backup, err: unknown): SafeRunError {
  // An engine that refused with its own explanation (a server naming the sessions on the database).
  if (err instanceof SafeRunError) return err;
  const fields = { stage: 'swap', database: backup.database, backupId: backup.id, cause: err };
  if (isEngineError(err, 'held-open')) {
    return new SafeRunError('restore', `cannot restore ${backup.database} while it is open: ${err.message}; nothing was changed`, {
      ...fields,
      hint: err.hint ?? 'stop the processes that hold it open, then run the same command again',
    });
  }
  if (isEngineError(err, 'opened-meanwhile')) {
    return new SafeRunError('restore', `restoring ${backup.database} failed: ${err.message}`, { ...fields, hint: err.hint ?? 'nothing was lost; run the same command again once it is closed' });
  }
  const code = codeOf(err);
  const failure = err instanceof EngineError ? err.failure : undefined;
  const hint =
    NO_SPACE.has(code ?? '') || failure === 'no-space'
      ? 'nothing was lost; free space beside the database, then run the same command again'
      : NOT_ALLOWED.has(code ?? '') || failure === 'permission'
        ? 'nothing was lost; make the database and its directory writable for this user, then run the same command again'
        : code === 'SQLITE_BUSY' || failure === 'busy'
          ? 'nothing was lost; the database stayed busy: run again with a longer --wait, or when its users are done'
          : err instanceof EngineError && err.hint
            ? `nothing was lost; ${err.hint}`
            : 'nothing was lost; check free space and permissions beside the database, then try again';
  return new SafeRunError('restore', `restoring ${backup.database} failed: ${describeCause(err)}; the database was put back as it was`, { ...fields, hint });
}

function mb(bytes: number): string {
  return bytes >= 1 << 20 ? `${(bytes / (1 << 20)).toFixed(1)} MB` : `${Math.ceil(bytes / 1024)} KB`;
}
