// The lock that serialises safe-run runs on one MariaDB database across machines: a GET_LOCK() held on
// a dedicated connection, freed by the server when that connection ends (or its process dies).
import { createHash } from 'node:crypto';
import { SafeRunError } from '../../errors.js';
import { connectMy, rowsOf, type MyConn } from './connect.js';
import { locationOf, type MyTarget } from './url.js';

/** A lock name (at most 64 characters) for a name in a scope, the same on every client. */
export function lockName(scope: string, name: string): string {
  return `safe_run_${scope}_${createHash('sha256').update(name).digest('hex').slice(0, 40)}`;
}

/** The name of the database's lock: the server's host and port and the database name go in. */
async function databaseLockName(c: MyConn, database: string): Promise<string> {
  const [s] = await rowsOf<{ h: string; p: number }>(c, 'SELECT @@hostname AS h, @@port AS p');
  return lockName('db', `${s!.h}:${s!.p}\0${database}`);
}

/** GET_LOCK without waiting; true when taken (or already held by this connection). */
export async function tryLock(c: MyConn, name: string): Promise<boolean> {
  const [r] = await rowsOf<{ ok: number | null }>(c, 'SELECT GET_LOCK(?, 0) AS ok', [name]);
  return Number(r?.ok) === 1;
}

/** Who holds user lock `name`, as a phrase ("connection 42 (root@127.0.0.1:50412) for 3 s"). */
export async function describeHolder(c: MyConn, name: string): Promise<string | undefined> {
  const [r] = await rowsOf<{ id: string | null; u: string | null; h: string | null; t: number | null }>(
    c,
    `SELECT l.id, p.USER AS u, p.HOST AS h, p.TIME AS t FROM (SELECT IS_USED_LOCK(?) AS id) l LEFT JOIN information_schema.PROCESSLIST p ON p.ID = l.id`,
    [name],
  );
  if (!r?.id) return undefined;
  return `safe-run on connection ${r.id}${r.u ? ` (${r.u}@${r.h})` : ''}${r.t !== null ? `, held for ${r.t} s` : ''}`;
}

/**
 * Take the lock for `t`'s database and hold it until `release()`. With `waitMs` > 0 retry for that long;
 * when taken by someone else reject with a `locked` SafeRunError naming the holder's connection.
 */
export async function lockDatabase(t: MyTarget, opts: { waitMs?: number; onWait?: (holder: string | undefined) => void } = {}): Promise<{ release(): Promise<void> }> {
  const c = await connectMy(t, { database: null, kind: 'locked', stage: 'lock' });
  try {
    const name = await databaseLockName(c, t.database);
    const deadline = Date.now() + (opts.waitMs ?? 0);
    let waited = false;
    while (!(await tryLock(c, name))) {
      if (Date.now() >= deadline) {
        const holder = await describeHolder(c, name);
        throw new SafeRunError('locked', `database ${locationOf(t)} is locked by another safe-run${holder ? `: ${holder}` : ''}`, {
          stage: 'lock',
          database: locationOf(t),
          hint: 'wait for that run to finish (or pass a wait time); the lock is freed when its connection ends',
        });
      }
      if (!waited) opts.onWait?.(await describeHolder(c, name));
      waited = true;
      await new Promise((r) => setTimeout(r, 200));
    }
    let released = false;
    return {
      async release() {
        if (released) return;
        released = true;
        await c.end().catch(() => c.destroy());
      },
    };
  } catch (err) {
    await c.end().catch(() => c.destroy());
    throw err;
  }
}
