// Open mysql2 connections to the server, with failures turned into one-line SafeRunErrors that name
// the cause (refused, unknown host, wrong password, no such database) and never the password.
import type { Connection } from 'mysql2/promise';
import mysql from 'mysql2/promise';
import { SafeRunError, type ErrorKind } from '../../errors.js';
import { locationOf, type MyTarget } from './url.js';

export type MyConn = Connection;

/** Connect to the server; `database: null` connects to no database (for catalog and DDL work). */
export async function connectMy(t: MyTarget, opts: { database?: string | null; kind?: ErrorKind; stage?: string } = {}): Promise<MyConn> {
  try {
    const conn = await mysql.createConnection({
      ...(t.socket ? { socketPath: t.socket } : { host: t.host, port: t.port }),
      user: t.user,
      password: t.password ?? '',
      ...(opts.database === null ? {} : { database: opts.database ?? t.database }),
      supportBigNumbers: true,
      bigNumberStrings: true,
      dateStrings: true,
      connectTimeout: 10_000,
      connectAttributes: { program_name: 'safe-run' },
    });
    // An idle connection whose server goes away emits 'error'; without a listener Node would crash.
    conn.on('error', () => {});
    return conn;
  } catch (err) {
    throw myFailure(err, { kind: opts.kind ?? 'backup', stage: opts.stage ?? 'connect', database: locationOf(t), secrets: [t.password] });
  }
}

/** Run `fn` on a connection to no particular database, ending it afterwards. */
export async function withServer<T>(t: MyTarget, fn: (c: MyConn) => Promise<T>, opts: { kind?: ErrorKind; stage?: string } = {}): Promise<T> {
  const c = await connectMy(t, { ...opts, database: null });
  try {
    return await fn(c);
  } finally {
    await c.end().catch(() => {});
  }
}

/** Rows of a query (the first element of mysql2's answer). */
export async function rowsOf<T>(c: MyConn, sql: string, params: unknown[] = []): Promise<T[]> {
  const [rows] = await c.query(sql, params);
  return rows as T[];
}

/** Quote an identifier with backticks. */
export function ident(name: string): string {
  return '`' + name.replace(/`/g, '``') + '`';
}

export function literal(text: string): string {
  return mysql.escape(text);
}

/** Map a mysql2 or socket error, or a tool's stderr, to a one-line SafeRunError with a hint. */
export function myFailure(err: unknown, ctx: { kind: ErrorKind; stage: string; database?: string; secrets?: Array<string | undefined> }, what?: string): SafeRunError {
  if (err instanceof SafeRunError) return err;
  const e = err as { code?: string; errno?: number; message?: string };
  let raw = String(e?.message ?? err);
  for (const s of ctx.secrets ?? []) if (s) raw = raw.split(s).join('***');
  const first = raw.split('\n').map((l) => l.trim()).find((l) => l !== '') ?? raw;
  const where = ctx.database ? ` (${ctx.database})` : '';
  const make = (message: string, hint: string) => {
    const cause = new Error(raw);
    (cause as { code?: string }).code = e?.code;
    return new SafeRunError(ctx.kind, `${what ? what + ': ' : ''}${message}${where}`, { stage: ctx.stage, database: ctx.database, hint, cause });
  };
  if (e?.code === 'ECONNREFUSED' || /Can't connect to (MySQL|MariaDB) server|Connection refused/i.test(raw)) return make('cannot reach the MariaDB server: connection refused', 'check the host and port, and that the server is running and listening there');
  if (e?.code === 'ENOTFOUND' || e?.code === 'EAI_AGAIN' || /Unknown (MySQL|MariaDB) server host/i.test(raw)) return make('cannot reach the MariaDB server: unknown host', 'check the host name in the URL');
  if (e?.code === 'ETIMEDOUT' || e?.code === 'EHOSTUNREACH') return make('cannot reach the MariaDB server: timed out', 'check the host, the port and any firewall in between');
  if (e?.errno === 1045 || /Access denied for user/i.test(raw)) return make('the server refused the login (wrong user or password)', 'check the user and password in the URL or in ~/.my.cnf');
  if (e?.errno === 1049 || /Unknown database/i.test(raw)) return make(`database does not exist: ${first.replace(/^.*Unknown database /, '')}`, 'check the database name in the URL; list them with: mariadb -e "SHOW DATABASES"');
  if (e?.errno === 1044 || e?.errno === 1142 || e?.errno === 1227 || /command denied|Access denied/i.test(raw)) return make(`missing privilege: ${first}`, 'grant the user the privileges safe-run needs (SELECT, LOCK TABLES, SHOW VIEW, TRIGGER, EVENT, CREATE, DROP, ALTER on safe_run_% schemas)');
  if (e?.errno === 1205 || /Lock wait timeout exceeded/i.test(raw)) return make('other clients hold locks on the tables longer than safe-run may wait', 'stop the application (or restore with --force), then try again');
  if (e?.code === 'ENOSPC' || /No space left|Disk full|errno: 28/i.test(raw)) return make('no space left on the device', 'free some space or back up to another disk');
  return make(first.replace(/^.*?(ERROR \d+ \([0-9A-Z]+\)[^:]*:\s*)/, ''), 'run again with --debug for the full message');
}
