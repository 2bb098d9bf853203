// Put a prepared database (a clone, a restored dump) in place of the live one by two renames, keeping the
// replaced one under a safety name, and put everything back if the second rename fails.
import type pg from 'pg';
import { SafeRunError } from '../../errors.js';
import { ident, literal } from './connect.js';
import { pgFailure } from './errors.js';
import { KEPT_MARK, ownerKey, replacedName } from './owned-db.js';
import { describeSessions, otherSessions, shutOut, type PgSession, type ShutOut } from './sessions.js';

/** What a swap did. */
export interface SwapResult {
  /** The name the replaced database is kept under, or undefined when there was no live database. */
  keptAs?: string;
  /** Sessions terminated on the live database (with `force`). */
  terminated: PgSession[];
}

/**
 * Rename `replacement` to `live`, keeping the database that was `live` as `safe_run_old_…` (commented as
 * kept). Other sessions on `live` make it refuse (listing them) unless `force`: then new connections are
 * refused, the sessions terminated, and connections allowed again on every way out (errors and SIGINT/
 * SIGTERM included; the kept copy too). The new live database gets `comment` (default: none). SIGINT/SIGTERM arriving during the renames are held until the
 * databases are in a known state. The renames are one transaction: they happen together or not at all.
 */
export async function swapInto(admin: pg.Client, live: string, replacement: string, opts: { force?: boolean; location: string; comment?: string | null; keepAs?: string }): Promise<SwapResult> {
  const ctx = { kind: 'restore' as const, stage: 'swap', database: opts.location };
  // Signals wait until the databases are in a known state and connections are allowed again.
  return holdingSignals(async () => {
    const exists = (await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [live])).rowCount! > 0;
    let shut: ShutOut | undefined;
    if (exists) {
      const sessions = await otherSessions(admin, live);
      if (sessions.length > 0 && !opts.force) {
        throw new SafeRunError('restore', `cannot restore "${live}": ${sessions.length} other session(s) use it: ${describeSessions(sessions)}`, {
          ...ctx,
          hint: 'stop the application, or restore with --force to disconnect these sessions',
        });
      }
      if (sessions.length > 0) shut = await shutOut(admin, live, 10_000, { signalsHeld: true });
    }
    try {
      if (!exists) {
        await inTransaction(admin, async () => {
          await rename(admin, replacement, live);
          await setComment(admin, live, opts.comment ?? null);
        });
        return { terminated: [] };
      }
      // A name chosen beforehand lets the caller record the kept copy before the swap happens.
      const keptAs = opts.keepAs ?? replacedName();
      // Both renames (and the comments that mark the kept copy) in one transaction: ALTER DATABASE …
      // RENAME is transactional, so a crash or kill -9 at any point leaves the old database or the new
      // one under the live name, never neither.
      await inTransaction(admin, async () => {
        await admin.query(`COMMENT ON DATABASE ${ident(live)} IS ${literal(`${KEPT_MARK}: "${live}" as it was before a restore at ${new Date().toISOString()}`)}`);
        await rename(admin, live, keptAs);
        await rename(admin, replacement, live);
        await setComment(admin, live, opts.comment ?? null);
      });
      return { keptAs, terminated: shut?.terminated ?? [] };
    } catch (err) {
      throw pgFailure(err, ctx, 'swap failed, the live database is as it was');
    } finally {
      await shut?.allow().catch(() => {});
      await admin.query('SELECT pg_advisory_unlock($1::bigint)', [ownerKey(replacement)]).catch(() => {});
    }
  });
}

/** `fn` in one transaction on `admin`: committed whole, or rolled back and rethrown. */
async function inTransaction(admin: pg.Client, fn: () => Promise<void>): Promise<void> {
  await admin.query('BEGIN');
  try {
    await fn();
    await admin.query('COMMIT');
  } catch (err) {
    await admin.query('ROLLBACK').catch(() => {});
    throw err;
  }
}

async function rename(admin: pg.Client, from: string, to: string): Promise<void> {
  await admin.query(`ALTER DATABASE ${ident(from)} RENAME TO ${ident(to)}`);
}

async function setComment(admin: pg.Client, db: string, comment: string | null): Promise<void> {
  await admin.query(`COMMENT ON DATABASE ${ident(db)} IS ${comment === null ? 'NULL' : literal(comment)}`);
}

/** Run `fn` with SIGINT/SIGTERM held; re-raise them afterwards if nobody else handles them. */
async function holdingSignals<T>(fn: () => Promise<T>): Promise<T> {
  const held: NodeJS.Signals[] = [];
  const hold = (s: NodeJS.Signals) => void held.push(s);
  process.on('SIGINT', hold);
  process.on('SIGTERM', hold);
  try {
    return await fn();
  } finally {
    process.off('SIGINT', hold);
    process.off('SIGTERM', hold);
    for (const s of new Set(held)) if (process.listenerCount(s) === 0) process.kill(process.pid, s);
  }
}
