// Other sessions during backups and restores: a writer, a connected application, a second safe-run.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type pg from 'pg';
import { expect, test } from 'vitest';
import { backupDatabase, CloneUnavailable, lockDatabase, restoreClone, restoreDump } from '../../src/engines/postgres/index.js';
import { appSession, createDb, dropDbs, randomDbName, rowsOf, SAMPLE_SCHEMA, sql, targetOf, cleanups, freshDb } from './pg-test-db.js';

async function dumpPath(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'srt-pg-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return join(dir, 'db.dump');
}

async function app(db: string, name = 'billing-worker'): Promise<pg.Client> {
  const c = await appSession(db, name);
  cleanups.push(() => c.end().catch(() => {}));
  return c;
}

test('a dump taken while a writer commits transfers keeps the total in the backup', async () => {
  // Enough data that pg_dump takes a while, so the writer commits during it.
  const db = await freshDb(`CREATE TABLE filler AS SELECT g AS id, md5(g::text) || md5(random()::text) AS t FROM generate_series(1, 300000) g;`);
  const writer = await app(db, 'writer');
  let commits = 0;
  let stop = false;
  const writing = (async () => {
    while (!stop) {
      const a = 1 + Math.floor(Math.random() * 200);
      const b = 1 + Math.floor(Math.random() * 200);
      await writer.query('BEGIN');
      await writer.query('UPDATE accounts SET balance = balance - 7 WHERE id = $1', [a]);
      await writer.query('UPDATE accounts SET balance = balance + 7 WHERE id = $1', [b]);
      await writer.query('INSERT INTO notes VALUES ($1, $2)', [a, 'transfer']);
      await writer.query('COMMIT');
      commits++;
    }
  })();
  const file = await dumpPath();
  await new Promise((r) => setTimeout(r, 100));
  const before = commits;
  const backup = await backupDatabase(targetOf(db), 'auto', { backupId: 'w', dumpFile: file });
  const during = commits - before;
  stop = true;
  await writing;
  expect(backup.strategy).toBe('dump');
  expect(backup.fellBackBecause).toMatch(/billing-worker|writer/);
  expect(during).toBeGreaterThan(0);
  if (backup.strategy !== 'dump') throw new Error('expected a dump');
  // Restore under a new name (no live database there) and check the invariant and the counted rows.
  const copy = randomDbName();
  cleanups.push(() => dropDbs(copy));
  await restoreDump(targetOf(copy), backup);
  const [t] = await sql<{ total: string; notes: string }>(copy, 'SELECT (SELECT sum(balance) FROM accounts)::text AS total, (SELECT count(*) FROM notes)::text AS notes');
  expect(t!.total).toBe(String(200 * 1000));
  expect(Number(t!.notes)).toBe(backup.tables.find((x) => x.table === 'public.notes')!.rows);
});

test('a clone refuses at once while an application is connected, naming it, and auto dumps instead', async () => {
  const db = await freshDb();
  await app(db);
  const started = Date.now();
  const err = await backupDatabase(targetOf(db), 'clone', { backupId: randomDbName('b'), dumpFile: await dumpPath() }).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(CloneUnavailable);
  expect((err as CloneUnavailable).reason).toBe('in-use');
  expect((err as Error).message).toMatch(/1 other session.*app "billing-worker" user postgres from 127\.0\.0\.1/);
  expect(Date.now() - started).toBeLessThan(3000);
  const backup = await backupDatabase(targetOf(db), 'auto', { backupId: randomDbName('b'), dumpFile: await dumpPath() });
  expect(backup.strategy).toBe('dump');
  expect(backup.fellBackBecause).toMatch(/billing-worker/);
});

test('a restore refuses while an application is connected, and with force disconnects it and lets connections in again', async () => {
  const db = await freshDb();
  const before = await rowsOf(db, 'accounts');
  const backup = await backupDatabase(targetOf(db), 'clone', { backupId: randomDbName('b'), dumpFile: await dumpPath() });
  if (backup.strategy !== 'clone') throw new Error('expected a clone');
  cleanups.push(() => dropDbs(backup.database));
  await sql(db, 'UPDATE accounts SET balance = 0');
  const session = await app(db);
  const refused = await restoreClone(targetOf(db), backup.database).catch((e: unknown) => e as Error);
  expect(refused.message).toMatch(/cannot restore ".*": 1 other session\(s\) use it: pid \d+ app "billing-worker"/);
  expect((refused as { hint?: string }).hint).toMatch(/--force/);
  expect(await rowsOf(db, 'accounts')).not.toEqual(before);

  const result = await restoreClone(targetOf(db), backup.database, { force: true });
  cleanups.push(() => dropDbs(result.keptAs));
  expect(result.terminated.map((s) => s.applicationName)).toEqual(['billing-worker']);
  await expect(session.query('SELECT 1')).rejects.toThrow();
  expect(await rowsOf(db, 'accounts')).toEqual(before);
  const allow = await sql<{ datname: string; datallowconn: boolean }>('postgres', 'SELECT datname, datallowconn FROM pg_database WHERE datname = ANY($1) ORDER BY 1', [[db, result.keptAs]]);
  expect(allow.map((d) => d.datallowconn)).toEqual([true, true]);
  const again = await app(db, 'reconnected');
  expect((await again.query('SELECT count(*)::int AS n FROM accounts')).rows[0].n).toBe(200);
});

test('a dump restore that fails half-way leaves the live database as it was and no staged copy', async () => {
  const role = randomDbName('r');
  await sql('postgres', `CREATE ROLE ${role}`);
  cleanups.push(() => sql('postgres', `DROP ROLE IF EXISTS ${role}`));
  const db = await freshDb(`GRANT SELECT ON accounts TO ${role};`);
  const backup = await backupDatabase(targetOf(db), 'dump', { backupId: 'x', dumpFile: await dumpPath() });
  if (backup.strategy !== 'dump') throw new Error('expected a dump');
  // The dump grants to a role that no longer exists: pg_restore fails after the data is loaded.
  await sql(db, `REVOKE SELECT ON accounts FROM ${role}; UPDATE accounts SET balance = 1`);
  await sql('postgres', `DROP ROLE ${role}`);
  const after = await rowsOf(db, 'accounts');
  const stagesBefore = await sql('postgres', `SELECT datname FROM pg_database WHERE datname LIKE 'safe\\_run\\_stage\\_%'`);
  const err = await restoreDump(targetOf(db), backup).catch((e: unknown) => e as Error);
  expect(err.message).toMatch(/restore failed, the live database is as it was: .*role .* does not exist/);
  expect(await rowsOf(db, 'accounts')).toEqual(after);
  const stagesAfter = await sql('postgres', `SELECT datname FROM pg_database WHERE datname LIKE 'safe\\_run\\_stage\\_%'`);
  expect(stagesAfter.length).toBeLessThanOrEqual(stagesBefore.length);
});

test('the advisory lock excludes a second holder, names the first, and is taken once released', async () => {
  const db = await freshDb();
  const first = await lockDatabase(targetOf(db));
  cleanups.push(() => first.release());
  const err = await lockDatabase(targetOf(db)).catch((e: unknown) => e as Error & { kind: string });
  expect(err.kind).toBe('locked');
  expect(err.message).toMatch(new RegExp(`locked by another safe-run: pid \\d+ "safe-run ${process.pid}@[^"]+" from 127\\.0\\.0\\.1 since \\d{4}-`));
  // Another database on the same server is not affected.
  const other = await lockDatabase(targetOf(randomDbName()));
  await other.release();
  const waiting = lockDatabase(targetOf(db), { waitMs: 5000 });
  setTimeout(() => void first.release(), 300);
  const second = await waiting;
  await second.release();
});

test('an in-place restore (no CREATEDB) that fails half-way is rolled back whole', async () => {
  const owner = randomDbName('r');
  const grantee = randomDbName('r');
  await sql('postgres', `CREATE ROLE ${owner} LOGIN NOCREATEDB; CREATE ROLE ${grantee}`);
  const db = randomDbName();
  await sql('postgres', `CREATE DATABASE ${db} OWNER ${owner}`);
  cleanups.push(async () => {
    await dropDbs(db);
    await sql('postgres', `DROP ROLE IF EXISTS ${grantee}; DROP ROLE IF EXISTS ${owner}`);
  });
  await sql(db, `SET ROLE ${owner}; ${SAMPLE_SCHEMA} GRANT SELECT ON accounts TO ${grantee};`);
  const backup = await backupDatabase(targetOf(db, owner), 'dump', { backupId: 'x', dumpFile: await dumpPath() });
  if (backup.strategy !== 'dump') throw new Error('expected a dump');
  await sql(db, `SET ROLE ${owner}; REVOKE SELECT ON accounts FROM ${grantee}; UPDATE accounts SET balance = 3; ALTER TABLE accounts ADD COLUMN email text`);
  await sql('postgres', `DROP ROLE ${grantee}`);
  const after = await rowsOf(db, 'accounts');
  const err = await restoreDump(targetOf(db, owner), backup).catch((e: unknown) => e as Error);
  expect(err.message).toMatch(/rolled back, the live database is as it was: .*role .* does not exist/);
  expect(await rowsOf(db, 'accounts')).toEqual(after);
});
