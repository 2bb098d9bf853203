// The lock that serialises safe-run runs on one PostgreSQL database across machines: a session-level
// advisory lock held on a dedicated connection, freed by the server when that connection dies.
import { createHash } from 'node:crypto';
import type pg from 'pg';
import { SafeRunError } from '../../errors.js';
import { connectPg, MAINTENANCE_DB, serverIdentity } from './connect.js';
import { locationOf, type PgTarget } from './url.js';

/** A held lock. */
export interface DatabaseLock {
  /** The advisory lock key (a signed 64-bit integer, as text). */
  readonly key: string;
  /** Release the lock and close its connection. Safe to call twice. */
  release(): Promise<void>;
}

/**
 * The advisory key for a name: the first 8 bytes of sha256(`scope` NUL `name`) as a signed bigint.
 * Advisory locks are per database, so every safe-run lock is taken in the maintenance database; the
 * locked database's name (not its oid, which a restore by rename changes) and the server identity go in.
 */
export function advisoryKey(scope: string, name: string): string {
  return createHash('sha256').update(`${scope}\0${name}`).digest().readBigInt64BE(0).toString();
}

/**
 * Take the lock for `target`'s database and hold it until `release()`. With `waitMs` > 0, retry for that
 * long; with 0 (the default), fail at once. When taken by someone else, rejects with a `locked`
 * SafeRunError naming the holder (pid, application_name, client address, since when).
 */
export async function lockDatabase(target: PgTarget, opts: { waitMs?: number } = {}): Promise<DatabaseLock> {
  const client = await connectPg(target, { database: MAINTENANCE_DB, kind: 'locked', stage: 'lock' });
  try {
    const key = advisoryKey(`safe-run-db:${await serverIdentity(client)}`, target.database);
    const deadline = Date.now() + (opts.waitMs ?? 0);
    for (;;) {
      if (await tryAdvisoryLock(client, key)) break;
      if (Date.now() >= deadline) {
        const holder = await describeHolder(client, key);
        throw new SafeRunError('locked', `database ${locationOf(target)} is locked by another safe-run${holder ? `: ${holder}` : ''}`, {
          stage: 'lock',
          database: locationOf(target),
          hint: 'wait for that run to finish (or pass a wait time); the lock is freed when its session ends',
        });
      }
      await new Promise((r) => setTimeout(r, 200));
    }
    let released = false;
    return {
      key,
      async release() {
        if (released) return;
        released = true;
        // Ending the session frees every session-level lock it holds.
        await client.end().catch(() => {});
      },
    };
  } catch (err) {
    await client.end().catch(() => {});
    throw err;
  }
}

/** pg_try_advisory_lock on `client`'s session; true when taken (or already held by this session). */
export async function tryAdvisoryLock(client: pg.Client, key: string): Promise<boolean> {
  const r = await client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1::bigint) AS ok', [key]);
  return r.rows[0]!.ok;
}

/** Who holds the advisory lock `key` in the current database, as one phrase; undefined if nobody now. */
export async function describeHolder(client: pg.Client, key: string): Promise<string | undefined> {
  // A bigint key shows in pg_locks as classid = high 32 bits, objid = low 32 bits, objsubid = 1.
  const r = await client.query<{ pid: number; application_name: string; client_addr: string | null; backend_start: Date }>(
    `SELECT a.pid, a.application_name, host(a.client_addr) AS client_addr, a.backend_start
       FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
      WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1
        AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
        AND l.classid::bigint = (($1::bigint >> 32) & 4294967295)
        AND l.objid::bigint = ($1::bigint & 4294967295)`,
    [key],
  );
  const h = r.rows[0];
  if (!h) return undefined;
  return `pid ${h.pid} "${h.application_name}" from ${h.client_addr ?? 'local socket'} since ${h.backend_start.toISOString()}`;
}
