// A restore killed half-way leaves the live database as it was, and its staged copy is swept once its
// owner is gone, by the leftover sweep and by nothing else before.
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import { expect, test } from 'vitest';
import { backupDatabase, listSafeRunDatabases, removeLeftovers } from '../../src/engines/postgres/index.js';
import { createDb, dropDbs, rowsOf, SAMPLE_SCHEMA, SERVER, sql, targetOf, cleanups } from './pg-test-db.js';

test('a restore killed before its swap leaves the live database untouched and a stage the sweep removes', async () => {
  const db = await createDb(`${SAMPLE_SCHEMA} CREATE TABLE filler AS SELECT g, md5(g::text) || md5(random()::text) AS t FROM generate_series(1, 400000) g;`);
  cleanups.push(() => dropDbs(db));
  const dir = await mkdtemp(join(tmpdir(), 'srt-pg-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  const backup = await backupDatabase(targetOf(db), 'dump', { backupId: 'k', dumpFile: join(dir, 'db.dump') });
  await sql(db, 'UPDATE accounts SET balance = 42');
  const live = await rowsOf(db, 'accounts');

  const bundle = join(dir, 'restore-child.mjs');
  await build({ entryPoints: [join(import.meta.dirname, 'fixtures/restore-child.ts')], bundle: true, platform: 'node', format: 'esm', outfile: bundle, external: ['pg-native'], logLevel: 'warning', banner: { js: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);" } });
  const child = spawn(process.execPath, [bundle, `${SERVER}/${db}`, JSON.stringify(backup)], { stdio: 'ignore' });
  const exited = new Promise((r) => child.once('exit', r));
  // Wait for the child's staged database (its comment names the child's pid), then kill the child outright.
  let stage: string | undefined;
  const deadline = Date.now() + 20_000;
  while (!stage && Date.now() < deadline) {
    const rows = await sql<{ datname: string }>('postgres', `SELECT datname FROM pg_database WHERE datname LIKE 'safe\\_run\\_stage\\_%' AND shobj_description(oid, 'pg_database') LIKE $1`, [`%safe-run ${child.pid}@%`]);
    stage = rows[0]?.datname;
    if (!stage) await new Promise((r) => setTimeout(r, 20));
  }
  expect(stage).toBeDefined();
  cleanups.push(() => dropDbs(stage));
  child.kill('SIGKILL');
  await exited;

  expect(await rowsOf(db, 'accounts')).toEqual(live);
  // The owner's session ends with it; give the server a moment to notice.
  const stateOf = async () => (await listSafeRunDatabases(targetOf(db))).find((d) => d.name === stage)?.state;
  for (let i = 0; i < 50 && (await stateOf()) !== 'abandoned'; i++) await new Promise((r) => setTimeout(r, 100));
  expect(await stateOf()).toBe('abandoned');
  expect(await removeLeftovers(targetOf(db))).toContain(stage);
  expect(await stateOf()).toBeUndefined();
  expect(await rowsOf(db, 'accounts')).toEqual(live);
});
