// Open `pg` connections named after this process, so that other sessions (and a lock's holder) can be
// told apart in pg_stat_activity, with connection failures turned into one-line errors.
import { hostname } from 'node:os';
import pg from 'pg';
import type { ErrorKind } from '../../errors.js';
import { pgFailure } from './errors.js';
import { passwordFromPgpass } from './passfile.js';
import { locationOf, withDatabase, type PgTarget } from './url.js';

/** The application_name safe-run's sessions carry: "safe-run <pid>@<host>". */
export function safeRunAppName(): string {
  return `safe-run ${process.pid}@${hostname()}`.slice(0, 63);
}

/** The database used for administrative sessions (CREATE/ALTER/DROP DATABASE, advisory locks). */
export const MAINTENANCE_DB = 'postgres';

/**
 * Connect to `target` (or to `database` on the same server). The password is the target's, else the one
 * ~/.pgpass (PGPASSFILE) gives. Rejects with a SafeRunError of `kind`/`stage` whose message names the
 * cause (refused, unknown host, wrong password, no such database) and never contains the password.
 * The caller ends the client.
 */
export async function connectPg(target: PgTarget, opts: { database?: string; kind?: ErrorKind; stage?: string } = {}): Promise<pg.Client> {
  const t = opts.database ? withDatabase(target, opts.database) : target;
  const client = new pg.Client({
    host: t.host,
    port: t.port,
    user: t.user,
    database: t.database,
    password: t.password ?? passwordFromPgpass(t) ?? '',
    application_name: safeRunAppName(),
    connectionTimeoutMillis: Number(t.options.connect_timeout ?? 10) * 1000,
    ...(sslOf(t) ?? {}),
  });
  // An idle client whose server goes away emits 'error'; without a listener Node would crash.
  client.on('error', () => {});
  try {
    await client.connect();
  } catch (err) {
    await client.end().catch(() => {});
    throw pgFailure(err, {
      kind: opts.kind ?? 'backup',
      stage: opts.stage ?? 'connect',
      database: locationOf(t),
      secrets: [t.password],
    });
  }
  return client;
}

/** Run `fn` with a connection to the maintenance database, ending it afterwards. */
export async function withAdmin<T>(target: PgTarget, fn: (admin: pg.Client) => Promise<T>, opts: { kind?: ErrorKind; stage?: string } = {}): Promise<T> {
  const admin = await connectPg(target, { ...opts, database: MAINTENANCE_DB });
  try {
    return await fn(admin);
  } finally {
    await admin.end().catch(() => {});
  }
}

/** The server's `server_version_num`, e.g. 150020. */
export async function serverVersionNum(client: pg.Client): Promise<number> {
  const r = await client.query<{ v: string }>("SELECT current_setting('server_version_num') AS v");
  return Number(r.rows[0]!.v);
}

/**
 * A stable identity of the server: its system identifier when the role may read it (pg_control_system
 * is restricted to superusers and pg_monitor), else the address and port it answers on.
 */
export async function serverIdentity(client: pg.Client): Promise<string> {
  try {
    const r = await client.query<{ id: string }>('SELECT system_identifier::text AS id FROM pg_control_system()');
    return `sysid:${r.rows[0]!.id}`;
  } catch {
    const r = await client.query<{ a: string | null; p: number | null }>('SELECT inet_server_addr()::text AS a, inet_server_port() AS p');
    return `addr:${r.rows[0]!.a ?? 'socket'}:${r.rows[0]!.p ?? ''}`;
  }
}

/** Quote an identifier (database, table, column) for SQL. */
export function ident(name: string): string {
  return pg.escapeIdentifier(name);
}

/** Quote a string literal for SQL (used where a statement takes no parameters, e.g. COMMENT ON). */
export function literal(text: string): string {
  return pg.escapeLiteral(text);
}

function sslOf(t: PgTarget): { ssl: boolean | { rejectUnauthorized: boolean } } | undefined {
  const mode = t.options.sslmode;
  if (!mode || mode === 'disable' || mode === 'allow' || mode === 'prefer') return undefined;
  return { ssl: mode === 'verify-full' || mode === 'verify-ca' ? true : { rejectUnauthorized: false } };
}
