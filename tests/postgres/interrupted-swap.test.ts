// A forced restore whose rename of the clone fails, with SIGTERM arriving meanwhile: the transaction of
// both renames rolls back, connections are allowed again, and only then does the process die of the signal.
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import { expect, test } from 'vitest';
import { backupDatabase } from '../../src/engines/postgres/index.js';
import { appSession, createDb, dropDbs, randomDbName, rowsOf, SAMPLE_SCHEMA, SERVER, sql, targetOf, cleanups } from './pg-test-db.js';

test('a signal during a failing forced swap waits until the live database is back and open', async () => {
  const db = await createDb(SAMPLE_SCHEMA);
  cleanups.push(() => dropDbs(db));
  const backup = await backupDatabase(targetOf(db), 'clone', { backupId: randomDbName('b'), dumpFile: '/nonexistent/never-written' });
  if (backup.strategy !== 'clone') throw new Error('expected a clone');
  cleanups.push(() => dropDbs(backup.database));
  await sql(db, 'UPDATE accounts SET balance = 7');
  const live = await rowsOf(db, 'accounts');
  const app = await appSession(db, 'web');
  app.on('error', () => {});
  // A session on the clone makes the rename of the clone into place wait ~5 s and then fail.
  const blocker = await appSession(backup.database, 'blocker');
  cleanups.push(() => blocker.end().catch(() => {}));

  const dir = await mkdtemp(join(tmpdir(), 'srt-pg-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  const bundle = join(dir, 'child.mjs');
  await build({ entryPoints: [join(import.meta.dirname, 'fixtures/restore-clone-child.ts')], bundle: true, platform: 'node', format: 'esm', outfile: bundle, external: ['pg-native'], logLevel: 'warning', banner: { js: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);" } });
  const child = spawn(process.execPath, [bundle, `${SERVER}/${db}`, backup.database], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  let err = '';
  child.stderr.on('data', (d) => (err += d));
  const exited = new Promise<[number | null, string | null]>((r) => child.once('exit', (c, s) => r([c, s])));

  // The renames run in one transaction: the child waits inside it on the rename of the clone (the blocker
  // is on it), with connections to the live database refused. The live name never goes missing.
  const renaming = async () =>
    (await sql<{ n: number }>('postgres', `SELECT count(*)::int AS n FROM pg_stat_activity WHERE state = 'active' AND query LIKE 'ALTER DATABASE%RENAME%' AND application_name LIKE 'safe-run%'`))[0]!.n;
  const deadline = Date.now() + 15_000;
  while ((await renaming()) === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  expect(await renaming()).toBeGreaterThan(0);
  expect(await sql('postgres', 'SELECT 1 FROM pg_database WHERE datname = $1', [db])).toHaveLength(1);
  child.kill('SIGTERM');
  const [code, signal] = await exited;
  expect({ code, signal, out, err }).toEqual({ code: null, signal: 'SIGTERM', out: '', err: '' });
  expect(code).toBeNull();
  expect(out).toBe(''); // it died of the signal once the databases were back, before printing its failure

  const [state] = await sql<{ datallowconn: boolean; comment: string | null }>('postgres', `SELECT datallowconn, shobj_description(oid, 'pg_database') AS comment FROM pg_database WHERE datname = $1`, [db]);
  expect(state).toEqual({ datallowconn: true, comment: null });
  expect(await rowsOf(db, 'accounts')).toEqual(live);
  expect(await rowsOf(backup.database, 'accounts')).not.toEqual(live);
});
