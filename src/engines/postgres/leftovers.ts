// Find and drop the databases a killed safe-run left behind (a half-made clone, a staged restore), never
// one whose owner is still alive, and never a kept backup or a replaced database.
import type pg from 'pg';
import { tryAdvisoryLock } from './advisory-lock.js';
import { connectPg, ident, MAINTENANCE_DB } from './connect.js';
import { KEPT_MARK, ownerKey, SNAPSHOT_PREFIX } from './owned-db.js';
import type { PgTarget } from './url.js';

/** A database whose name starts with the safe-run prefix. */
export interface SafeRunDatabase {
  name: string;
  comment: string | null;
  /** kept: a backup or a replaced database; building: its owner is alive; abandoned: its owner is gone. */
  state: 'kept' | 'building' | 'abandoned';
}

/**
 * List safe-run's databases on the server. The state is found by trying each owner key on a session of
 * its own (a session that holds a key would see its own databases as free).
 */
export async function listSafeRunDatabases(target: PgTarget): Promise<SafeRunDatabase[]> {
  const probe = await connectPg(target, { database: MAINTENANCE_DB, stage: 'leftovers' });
  try {
    return await classify(probe, false);
  } finally {
    await probe.end().catch(() => {});
  }
}

/**
 * Drop every abandoned safe-run database (partial, owner gone) and resolve to their names. The owner key
 * is held while dropping so that nobody can adopt the name in between. Kept databases are never dropped.
 */
export async function removeLeftovers(target: PgTarget): Promise<string[]> {
  const probe = await connectPg(target, { database: MAINTENANCE_DB, stage: 'leftovers' });
  try {
    const dbs = await classify(probe, true);
    const dropped: string[] = [];
    for (const db of dbs) {
      if (db.state !== 'abandoned') continue;
      await probe.query(`DROP DATABASE IF EXISTS ${ident(db.name)} WITH (FORCE)`);
      dropped.push(db.name);
    }
    return dropped;
  } finally {
    await probe.end().catch(() => {});
  }
}

async function classify(probe: pg.Client, keepLocks: boolean): Promise<SafeRunDatabase[]> {
  const r = await probe.query<{ name: string; comment: string | null }>(
    `SELECT d.datname AS name, shobj_description(d.oid, 'pg_database') AS comment
       FROM pg_database d WHERE starts_with(d.datname, $1) ORDER BY 1`,
    [SNAPSHOT_PREFIX],
  );
  const out: SafeRunDatabase[] = [];
  for (const { name, comment } of r.rows) {
    // A replaced database is the user's data: kept whatever its comment says.
    if (comment?.startsWith(KEPT_MARK) || name.startsWith(`${SNAPSHOT_PREFIX}old_`)) {
      out.push({ name, comment, state: 'kept' });
      continue;
    }
    const key = ownerKey(name);
    const free = await tryAdvisoryLock(probe, key);
    if (free && !keepLocks) await probe.query('SELECT pg_advisory_unlock($1::bigint)', [key]);
    out.push({ name, comment, state: free ? 'abandoned' : 'building' });
  }
  return out;
}
