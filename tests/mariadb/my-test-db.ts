// Real databases for the MariaDB tests: each test makes its own with a random name and drops it, with
// the shadow copies and kept tables safe-run made of it.
import { randomBytes } from 'node:crypto';
import mysql from 'mysql2/promise';

export const SERVER = process.env.SAFE_RUN_TEST_MY ?? 'mysql://root@127.0.0.1:3306';

export function randomDbName(prefix = 'srt'): string {
  return `${prefix}_${randomBytes(5).toString('hex')}`;
}

/** Run SQL (several statements allowed) on database `db` (or none) in a connection of its own. */
export async function sql<T = Record<string, unknown>>(db: string | null, text: string, params: unknown[] = []): Promise<T[]> {
  const c = await mysql.createConnection({ uri: db ? `${SERVER}/${db}` : SERVER, multipleStatements: true, supportBigNumbers: true, bigNumberStrings: true });
  try {
    const [rows] = await c.query(text, params);
    return rows as T[];
  } finally {
    await c.end();
  }
}

/** A connection to `db` standing in for an application that stays connected. */
export async function appConnection(db: string): Promise<mysql.Connection> {
  const c = await mysql.createConnection(`${SERVER}/${db}`);
  c.on('error', () => {});
  return c;
}

/**
 * Drop databases, and every safe_run_ schema whose comment names one of them (shadow copies, kept
 * tables, stages).
 */
export async function dropDbs(...names: string[]): Promise<void> {
  const ours = await sql<{ n: string; m: string }>(null, `SELECT SCHEMA_NAME AS n, SCHEMA_COMMENT AS m FROM information_schema.SCHEMATA WHERE SCHEMA_NAME LIKE 'safe\\_run\\_%'`);
  const mine = ours.filter((o) => names.some((n) => o.m.includes(n))).map((o) => o.n);
  for (const n of [...names, ...mine]) await sql(null, `DROP DATABASE IF EXISTS \`${n}\``);
}

/** Every row of a table as text, ordered, for exact comparisons. */
export async function rowsOfTable(db: string, table: string): Promise<string[]> {
  const r = await sql<Record<string, unknown>>(db, `SELECT * FROM \`${table}\` ORDER BY 1`);
  return r.map((x) => JSON.stringify(x));
}
