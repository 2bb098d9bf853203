// The engine contract for PostgreSQL, once per strategy, against the real server (each database is made
// and dropped by the test). `auto` clones an idle database and dumps one a writer is using.
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { FIXTURES } from '../helpers/cli.js';
import { dropDbs, randomDbName, SERVER, sql } from '../postgres/pg-test-db.js';
import { engineContract, flipByte, startLineWriter } from './engine-contract.js';

const WRITER = path.join(FIXTURES, 'pg-writer-transfers.mjs');
const ACCOUNTS = 300;
const SECRET = 'Sw0rdf1sh-not-for-logs';

async function contentsOf(db: string): Promise<unknown> {
  const columns = await sql<{ t: string; c: string }>(db, `SELECT table_name AS t, string_agg(column_name || ' ' || data_type, ', ' ORDER BY ordinal_position) AS c FROM information_schema.columns WHERE table_schema = 'public' GROUP BY table_name ORDER BY 1`);
  const tables: Record<string, string> = {};
  for (const { t } of columns) {
    const rows = await sql<{ r: string }>(db, `SELECT x::text AS r FROM "${t}" x ORDER BY 1`);
    tables[t] = `${rows.length} rows ${createHash('sha256').update(rows.map((r) => r.r).join('\n')).digest('hex')}`;
  }
  return { columns, tables };
}

function fixture(strategy: 'auto' | 'dump', withPassword: boolean) {
  return {
    engine: `postgres (${strategy}${withPassword ? ', password in the URL' : ''})`,
    expectedTotal: ACCOUNTS * 100,
    damageBackup: flipByte,
    ...(withPassword ? { secret: SECRET } : {}),
    async create() {
      const db = randomDbName('src');
      await sql('postgres', `CREATE DATABASE ${db}`);
      await sql(
        db,
        `CREATE TABLE accounts (id int PRIMARY KEY, balance bigint NOT NULL);
         CREATE TABLE ticks (id serial PRIMARY KEY, src int, dst int, amount int);
         INSERT INTO accounts SELECT g, 100 FROM generate_series(1, ${ACCOUNTS}) g;`,
      );
      const dir = mkdtempSync(path.join(os.tmpdir(), 'safe-run-contract-pg-'));
      // Trust auth on the test server: the password is never checked, only carried (and never leaked).
      const url = withPassword ? `${SERVER.replace('postgres@', `postgres:${SECRET}@`)}/${db}` : `${SERVER}/${db}`;
      writeFileSync(path.join(dir, 'safe-run.config.json'), JSON.stringify({ databases: [{ name: 'bank', url, strategy }] }));
      return {
        dir,
        contents: () => contentsOf(db),
        total: async () => Number((await sql<{ s: string }>(db, 'SELECT sum(balance)::text AS s FROM accounts'))[0]!.s),
        changeCommand: () => [
          'psql',
          `${SERVER}/${db}`,
          '-v',
          'ON_ERROR_STOP=1',
          '-qc',
          'UPDATE accounts SET balance = balance * 2 WHERE id % 3 = 0; DELETE FROM accounts WHERE id % 7 = 0; DROP TABLE ticks; ALTER TABLE accounts ADD COLUMN note text;',
        ],
        startWriter: () => startLineWriter(WRITER, [`${SERVER}/${db}`]),
      async assertIntact() {
          // PostgreSQL has no integrity_check: the database must accept a connection and read every table.
          const tables = await sql<{ t: string }>(db, `SELECT tablename AS t FROM pg_tables WHERE schemaname = 'public'`);
          for (const { t } of tables) await sql(db, `SELECT count(*) FROM "${t}"`);
        },
        async cleanup() {
          rmSync(dir, { recursive: true, force: true });
          const ours = await sql<{ d: string }>('postgres', `SELECT datname AS d FROM pg_database WHERE datname LIKE 'safe\\_run\\_%' AND shobj_description(oid, 'pg_database') LIKE '%${db}%'`);
          await dropDbs(db, ...ours.map((o) => o.d));
        },
      };
    },
  };
}

engineContract(fixture('auto', false));
engineContract(fixture('dump', true));
