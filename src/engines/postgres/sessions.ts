// Other sessions on a database: list them (to refuse with names), or shut them out for a forced restore
// and let them back in on every way out, signals included.
import type pg from 'pg';
import { SafeRunError, type ErrorKind } from '../../errors.js';
import { ident } from './connect.js';

/** A session connected to a database, as pg_stat_activity names it. */
export interface PgSession {
  pid: number;
  applicationName: string;
  user: string | null;
  /** The client's address, or null for a Unix socket. */
  clientAddr: string | null;
  backendStart: Date | null;
}

/** Client sessions on `database` other than the caller's own. Background workers are left out. */
export async function otherSessions(client: pg.Client, database: string): Promise<PgSession[]> {
  const r = await client.query<{ pid: number; application_name: string; usename: string | null; client_addr: string | null; backend_start: Date | null }>(
    `SELECT pid, application_name, usename, host(client_addr) AS client_addr, backend_start
       FROM pg_stat_activity
      WHERE datname = $1 AND pid <> pg_backend_pid() AND backend_type = 'client backend'
      ORDER BY backend_start`,
    [database],
  );
  return r.rows.map((s) => ({ pid: s.pid, applicationName: s.application_name, user: s.usename, clientAddr: s.client_addr, backendStart: s.backend_start }));
}

/** One line per session: "pid 1234 app "web" user app from 10.0.0.5". */
export function describeSessions(sessions: PgSession[]): string {
  return sessions
    .map((s) => `pid ${s.pid} app "${s.applicationName}" user ${s.user ?? '?'} from ${s.clientAddr ?? 'local socket'}`)
    .join('; ');
}

/**
 * Throw a SafeRunError listing the other sessions on `database` when there are any. `advice` is the hint
 * (e.g. "stop the application, or restore with --force").
 */
export async function refuseIfInUse(client: pg.Client, database: string, ctx: { kind: ErrorKind; stage: string; advice: string; doing: string }): Promise<void> {
  const sessions = await otherSessions(client, database);
  if (sessions.length === 0) return;
  throw new SafeRunError(ctx.kind, `cannot ${ctx.doing}: ${sessions.length} other session(s) on database "${database}": ${describeSessions(sessions)}`, {
    stage: ctx.stage,
    database,
    hint: ctx.advice,
  });
}

/** What `shutOut` returns: the sessions it ended, and how to let connections in again. */
export interface ShutOut {
  terminated: PgSession[];
  /** Allow connections to the database again (found by oid, so renames in between do not matter). Idempotent. */
  allow(): Promise<void>;
}

/**
 * Refuse new connections to `database` (ALLOW_CONNECTIONS false) and terminate the sessions on it, waiting
 * up to `waitMs` for them to go. `allow()` must be called on every path out; unless the caller holds
 * signals (`signalsHeld`), it is also run, best effort, on SIGINT/SIGTERM while the database is shut.
 */
export async function shutOut(client: pg.Client, database: string, waitMs = 10_000, opts: { signalsHeld?: boolean } = {}): Promise<ShutOut> {
  const oid = (await client.query<{ oid: number }>('SELECT oid FROM pg_database WHERE datname = $1', [database])).rows[0]?.oid;
  if (oid === undefined) throw new SafeRunError('restore', `database "${database}" does not exist`, { stage: 'restore', database });
  let allowed = false;
  const allow = async () => {
    if (allowed) return;
    // Name lookup and ALTER in one statement: a rename queued on the same session (a swap being put back)
    // cannot slip in between and leave us altering a name that no longer exists.
    await client.query(`DO $$DECLARE n name; BEGIN
      SELECT datname INTO n FROM pg_database WHERE oid = ${Number(oid)};
      IF n IS NOT NULL THEN EXECUTE format('ALTER DATABASE %I ALLOW_CONNECTIONS true', n); END IF;
    END$$`);
    allowed = true;
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  };
  const onSignal = (signal: NodeJS.Signals) => {
    void allow().catch(() => {}).finally(() => {
      if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
    });
  };
  // A caller that holds signals itself (a swap) calls allow() on its way out; a handler here would send a
  // query on the same session while the swap's own is in flight, inside its transaction.
  if (!opts.signalsHeld) {
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  }
  try {
    await client.query(`ALTER DATABASE ${ident(database)} ALLOW_CONNECTIONS false`);
    const terminated = await otherSessions(client, database);
    await client.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()`, [database]);
    const deadline = Date.now() + waitMs;
    while ((await otherSessions(client, database)).length > 0) {
      if (Date.now() > deadline) throw new SafeRunError('restore', `sessions on "${database}" did not end within ${waitMs / 1000} s`, { stage: 'restore', database, hint: 'stop the application and try again' });
      await new Promise((r) => setTimeout(r, 50));
    }
    return { terminated, allow };
  } catch (err) {
    await allow().catch(() => {});
    throw err;
  }
}
