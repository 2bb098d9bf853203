// Back up, let a script damage the database, restore: the earlier rows and schema come back exactly.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { backupDatabase, listSafeRunDatabases, restoreClone, restoreDump, verifyDump, type PgBackup } from '../../src/engines/postgres/index.js';
import { columnsOf, createDb, dropDbs, randomDbName, rowsOf, SAMPLE_SCHEMA, sql, targetOf, cleanups, freshDb } from './pg-test-db.js';

async function snapshotOf(db: string) {
  return {
    accounts: await rowsOf(db, 'accounts'),
    notes: await rowsOf(db, 'notes'),
    columns: await columnsOf(db, 'accounts'),
    nextId: (await sql<{ v: string }>(db, `SELECT last_value::text AS v FROM accounts_id_seq`))[0]!.v,
  };
}

/** What a risky migration does: drops a table, rewrites rows, adds a column, moves a sequence. */
async function damage(db: string): Promise<void> {
  await sql(db, `DROP TABLE notes; UPDATE accounts SET balance = balance * 2, owner = upper(owner);
    ALTER TABLE accounts ADD COLUMN email text; INSERT INTO accounts (owner, balance) VALUES ('new', 1)`);
}

async function keepDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'srt-pg-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

describe.each(['clone', 'dump'] as const)('the %s strategy', (strategy) => {
  test('restores exactly the earlier rows, schema and sequence after a damaging script', async () => {
    const db = await freshDb();
    const role = randomDbName('r');
    await sql('postgres', `CREATE ROLE ${role}`);
    cleanups.push(() => sql('postgres', `DROP OWNED BY ${role}; DROP ROLE IF EXISTS ${role}`));
    // Database-level properties, which neither CREATE DATABASE … TEMPLATE nor pg_restore carry over.
    await sql('postgres', `REVOKE CONNECT ON DATABASE ${db} FROM PUBLIC; GRANT CONNECT ON DATABASE ${db} TO ${role} WITH GRANT OPTION;
      ALTER DATABASE ${db} SET work_mem = '7MB'; COMMENT ON DATABASE ${db} IS 'the app''s data'`);
    const rawProps = async () => (await sql('postgres', `SELECT datacl::text AS acl, shobj_description(oid, 'pg_database') AS comment,
      (SELECT setconfig FROM pg_db_role_setting WHERE setdatabase = d.oid AND setrole = 0) AS settings FROM pg_database d WHERE datname = '${db}'`))[0]!;
    // The same grants may be listed in another order.
    const propsOf = async () => {
      const p = await rawProps();
      return { ...p, acl: String(p.acl).replace(/^\{|\}$/g, '').split(',').sort() };
    };
    const props = await propsOf();
    expect(props).toMatchObject({ comment: "the app's data", settings: ['work_mem=7MB'] });
    const before = await snapshotOf(db);
    const dir = await keepDir();
    const backup: PgBackup = await backupDatabase(targetOf(db), strategy, { backupId: randomDbName('b'), dumpFile: join(dir, 'db.dump') });
    expect(backup.strategy).toBe(strategy);
    expect(backup.tables).toEqual([
      { table: 'public.accounts', rows: 200 },
      { table: 'public.notes', rows: 502 },
    ]);
    if (backup.strategy === 'clone') cleanups.push(() => dropDbs(backup.database));
    await damage(db);
    expect(await columnsOf(db, 'accounts')).toContain('email text');

    const result = backup.strategy === 'clone' ? await restoreClone(targetOf(db), backup) : await restoreDump(targetOf(db), backup);
    cleanups.push(() => dropDbs(result.keptAs));
    expect(result.method).toBe(strategy === 'clone' ? 'clone-rename' : 'dump-swap');
    expect(await snapshotOf(db)).toEqual(before);
    expect(result.skipped).toEqual([]);
    expect(await propsOf()).toEqual(props);
    // The replaced database is kept as it was after the script.
    expect(await columnsOf(result.keptAs!, 'accounts')).toContain('email text');
  });
});

test('a dump verifies at full level and brings back a grant, a sequence and an extension', async () => {
  const role = randomDbName('r');
  await sql('postgres', `CREATE ROLE ${role}`);
  cleanups.push(() => sql('postgres', `DROP ROLE IF EXISTS ${role}`));
  const db = await freshDb(`CREATE EXTENSION IF NOT EXISTS pgcrypto; GRANT SELECT ON accounts TO ${role}; SELECT setval('accounts_id_seq', 5000);`);
  cleanups.push(() => sql(db, `REVOKE ALL ON accounts FROM ${role}`));
  const dir = await keepDir();
  const backup = await backupDatabase(targetOf(db), 'dump', { backupId: 'x', dumpFile: join(dir, 'db.dump') });
  if (backup.strategy !== 'dump') throw new Error('expected a dump');
  const check = await verifyDump(targetOf(db), backup, 'full');
  expect(check.result).toBe('ok: 2 tables restored and counted');
  await sql(db, `REVOKE SELECT ON accounts FROM ${role}; DROP EXTENSION pgcrypto; SELECT setval('accounts_id_seq', 1)`);
  const result = await restoreDump(targetOf(db), backup);
  cleanups.push(() => dropDbs(result.keptAs));
  const [facts] = await sql<{ granted: boolean; seq: string; ext: number }>(db, `SELECT has_table_privilege('${role}', 'accounts', 'SELECT') AS granted,
     (SELECT last_value::text FROM accounts_id_seq) AS seq, (SELECT count(*)::int FROM pg_extension WHERE extname = 'pgcrypto') AS ext`);
  expect(facts).toEqual({ granted: true, seq: '5000', ext: 1 });
  expect((await sql<{ v: string }>(db, `SELECT nextval('accounts_id_seq')::text AS v`))[0]!.v).toBe('5001');
});

test('a role without CREATEDB restores a dump into the database itself, in one transaction', async () => {
  const role = randomDbName('r');
  await sql('postgres', `CREATE ROLE ${role} LOGIN NOCREATEDB`);
  const db = randomDbName();
  await sql('postgres', `CREATE DATABASE ${db} OWNER ${role}`);
  cleanups.push(async () => {
    await dropDbs(db);
    await sql('postgres', `DROP ROLE IF EXISTS ${role}`);
  });
  const target = targetOf(db, role);
  const pg = await import('pg');
  const c = new pg.default.Client({ host: '127.0.0.1', user: role, database: db });
  await c.connect();
  await c.query(SAMPLE_SCHEMA);
  await c.end();
  const before = await snapshotOf(db);
  const dir = await keepDir();
  const backup = await backupDatabase(target, 'auto', { backupId: 'x', dumpFile: join(dir, 'db.dump') });
  expect(backup.strategy).toBe('dump');
  expect(backup.fellBackBecause).toMatch(/lacks CREATEDB/);
  await sql(db, `SET ROLE ${role}; UPDATE accounts SET balance = 0; DELETE FROM notes; ALTER TABLE accounts ADD COLUMN email text`);
  if (backup.strategy !== 'dump') throw new Error('expected a dump');
  const result = await restoreDump(target, backup);
  expect(result.method).toBe('dump-in-place');
  expect(await snapshotOf(db)).toEqual(before);
});

test('auto clones when nobody else is connected, and with keepClone the clone stays for a second restore', async () => {
  const db = await freshDb();
  const before = await snapshotOf(db);
  const backup = await backupDatabase(targetOf(db), 'auto', { backupId: randomDbName('b'), dumpFile: '/nonexistent/never-written' });
  if (backup.strategy !== 'clone') throw new Error('expected a clone');
  cleanups.push(() => dropDbs(backup.database));
  expect(backup.fellBackBecause).toBeUndefined();
  expect((await listSafeRunDatabases(targetOf(db))).find((d) => d.name === backup.database)?.state).toBe('kept');
  for (let round = 0; round < 2; round++) {
    await damage(db);
    const result = await restoreClone(targetOf(db), backup, { keepClone: true });
    cleanups.push(() => dropDbs(result.keptAs));
    expect(await snapshotOf(db)).toEqual(before);
  }
  expect(await rowsOf(backup.database, 'notes')).toEqual(before.notes);
});

test('a clone that was changed since the backup is refused, and the live database left alone', async () => {
  const db = await freshDb();
  const backup = await backupDatabase(targetOf(db), 'clone', { backupId: randomDbName('b'), dumpFile: '/nonexistent/never-written' });
  if (backup.strategy !== 'clone') throw new Error('expected a clone');
  cleanups.push(() => dropDbs(backup.database));
  await sql(backup.database, 'DELETE FROM notes WHERE account_id < 10');
  await damage(db);
  const damaged = { rows: await rowsOf(db, 'accounts'), columns: await columnsOf(db, 'accounts') };
  const err = await restoreClone(targetOf(db), backup).catch((e: unknown) => e as Error & { hint?: string });
  expect(err.message).toMatch(/refusing to restore: the clone ".*" does not match what was backed up: row counts differ: public\.notes: \d+ rows, expected 502/);
  expect({ rows: await rowsOf(db, 'accounts'), columns: await columnsOf(db, 'accounts') }).toEqual(damaged);
});
