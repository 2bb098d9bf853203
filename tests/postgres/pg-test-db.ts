// Real databases for the PostgreSQL tests: each test makes its own with a random name and drops it.
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterEach } from 'vitest';
import { parsePostgresUrl, type PgTarget } from '../../src/engines/postgres/url.js';

export const SERVER = process.env.SAFE_RUN_TEST_PG ?? 'postgres://postgres@127.0.0.1:5432';

/** A fresh random database name. */
export function randomDbName(prefix = 'srt'): string {
  return `${prefix}_${randomBytes(5).toString('hex')}`;
}

/** The target of database `name` on the test server. */
export function targetOf(name: string, user = 'postgres', password?: string): PgTarget {
  const auth = password === undefined ? user : `${user}:${encodeURIComponent(password)}`;
  return parsePostgresUrl(`${SERVER.replace('postgres@', `${auth}@`)}/${name}`, {}).target;
}

/** Run SQL on database `db` (default: the maintenance database) in a session of its own. */
export async function sql<T extends pg.QueryResultRow = pg.QueryResultRow>(db: string, text: string, params: unknown[] = []): Promise<T[]> {
  const c = new pg.Client({ connectionString: `${SERVER}/${db}` });
  await c.connect();
  try {
    return (await c.query<T>(text, params)).rows;
  } finally {
    await c.end();
  }
}

/** Open a client on `db` named `app`, to stand in for an application that stays connected. */
export async function appSession(db: string, app = 'test-app'): Promise<pg.Client> {
  const c = new pg.Client({ connectionString: `${SERVER}/${db}`, application_name: app });
  c.on('error', () => {});
  await c.connect();
  return c;
}

/** Create a database and return its name; `setup` SQL runs in it. */
export async function createDb(setup = '', name = randomDbName()): Promise<string> {
  await sql('postgres', `CREATE DATABASE ${name}`);
  if (setup) await sql(name, setup);
  return name;
}

/** Drop databases if they exist, whoever is connected. */
export async function dropDbs(...names: Array<string | undefined>): Promise<void> {
  for (const n of names) if (n) await sql('postgres', `DROP DATABASE IF EXISTS ${pg.escapeIdentifier(n)} WITH (FORCE)`);
}

/** Every row of a table as text, ordered, for exact comparisons. */
export async function rowsOf(db: string, table: string): Promise<string[]> {
  const r = await sql<{ t: string }>(db, `SELECT t::text AS t FROM ${table} t ORDER BY 1`);
  return r.map((x) => x.t);
}

/** The columns of a table as "name type", in order. */
export async function columnsOf(db: string, table: string): Promise<string[]> {
  const r = await sql<{ c: string }>(db, `SELECT attname || ' ' || format_type(atttypid, atttypmod) AS c FROM pg_attribute WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum`, [table]);
  return r.map((x) => x.c);
}

/** A small schema: accounts with a serial key and a CHECK, a child table, a view-free setup. */
export const SAMPLE_SCHEMA = `
  CREATE TABLE accounts (id serial PRIMARY KEY, owner text NOT NULL, balance bigint NOT NULL CHECK (balance >= 0));
  CREATE TABLE notes (account_id int REFERENCES accounts(id), body text);
  CREATE INDEX notes_body ON notes (body);
  INSERT INTO accounts (owner, balance) SELECT 'owner ' || g, 1000 FROM generate_series(1, 200) g;
  INSERT INTO notes SELECT (g % 200) + 1, md5(g::text) FROM generate_series(1, 500) g;
  INSERT INTO notes VALUES (1, 'same'), (1, 'same');
`;

/** Undo steps of the running test (databases, temp dirs), run after it newest first, whatever it left. */
export const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => {});
});

/** A fresh database with the sample schema (plus `extra` SQL), dropped after the test. */
export async function freshDb(extra = ''): Promise<string> {
  const db = await createDb(SAMPLE_SCHEMA + extra);
  cleanups.push(() => dropDbs(db));
  return db;
}
