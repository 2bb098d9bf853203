// Connection parameters from URLs and the libpq environment; and a dump that was cut short is caught.
import { chmod, mkdtemp, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { SafeRunError } from '../../src/errors.js';
import { dumpDatabase, parsePostgresUrl, verifyDump } from '../../src/engines/postgres/index.js';
import { sha256File } from '../../src/engines/postgres/load-dump.js';
import { passwordFromPgpass } from '../../src/engines/postgres/passfile.js';
import { runTool } from '../../src/engines/postgres/tools.js';
import { createDb, dropDbs, SAMPLE_SCHEMA, targetOf, cleanups } from './pg-test-db.js';

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'srt-pg-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

test('a URL gives the connection parameters, a printable location without the password, and a default name', () => {
  const p = parsePostgresUrl('postgresql://app:p%40ss:w@db.internal:6543/shop?sslmode=require', {});
  expect(p.target).toEqual({ host: 'db.internal', port: 6543, user: 'app', password: 'p@ss:w', database: 'shop', options: { sslmode: 'require' } });
  expect(p.location).toBe('postgres://app@db.internal:6543/shop');
  expect(p.defaultName).toBe('shop');
});

test('what the URL leaves out comes from PGHOST, PGPORT, PGUSER, PGPASSWORD and PGDATABASE', () => {
  const env = { PGHOST: '10.1.2.3', PGPORT: '5433', PGUSER: 'me', PGPASSWORD: 'sekret', PGDATABASE: 'fallback' };
  expect(parsePostgresUrl('postgres://', env).target).toEqual({ host: '10.1.2.3', port: 5433, user: 'me', password: 'sekret', database: 'fallback', options: {} });
  const own = parsePostgresUrl('postgres://other@/mine?host=/run/pg', env);
  expect(own.target).toMatchObject({ host: '/run/pg', user: 'other', database: 'mine', password: 'sekret' });
  expect(own.location).toBe('postgres://other@localhost:5433/mine?host=%2Frun%2Fpg');
});

test('a service from PGSERVICEFILE fills in the parameters, and an unknown one is a config error', async () => {
  const dir = await tempDir();
  const file = join(dir, 'services.conf');
  await writeFile(file, '# services\n[other]\nhost=nowhere\n\n[billing]\nhost=billing.db\nport=6000\nuser=biller\ndbname=ledger\nsslmode=verify-full\n');
  const viaEnv = parsePostgresUrl('postgres://', { PGSERVICEFILE: file, PGSERVICE: 'billing' });
  expect(viaEnv.target).toEqual({ host: 'billing.db', port: 6000, user: 'biller', database: 'ledger', options: { sslmode: 'verify-full' } });
  expect(parsePostgresUrl('postgres://x@/?service=billing', { PGSERVICEFILE: file }).target).toMatchObject({ user: 'x', host: 'billing.db', database: 'ledger' });
  const err = (() => {
    try {
      parsePostgresUrl('postgres:///?service=nope', { PGSERVICEFILE: file, PGSYSCONFDIR: dir });
    } catch (e) {
      return e as SafeRunError;
    }
  })();
  expect(err?.kind).toBe('config');
  expect(err?.hint).toMatch(/\[nope\]/);
});

test('a URL that does not parse is reported without its password', () => {
  let err: SafeRunError | undefined;
  try {
    parsePostgresUrl('postgres://app:hunter2@bad host:5432/db', {});
  } catch (e) {
    err = e as SafeRunError;
  }
  expect(err?.message).toBe('cannot parse the PostgreSQL URL postgres://app:***@bad host:5432/db');
});

test('~/.pgpass gives the password of the first matching line, and is ignored when others may read it', async () => {
  const dir = await tempDir();
  const file = join(dir, 'pgpass');
  await writeFile(file, '# comment\nother:5432:*:app:nope\ndb.internal:5432:shop:app:first\\:pw\\\\x\n*:*:*:*:fallback\n', { mode: 0o600 });
  const target = parsePostgresUrl('postgres://app@db.internal:5432/shop', {}).target;
  expect(passwordFromPgpass(target, { PGPASSFILE: file })).toBe('first:pw\\x');
  await chmod(file, 0o644);
  expect(passwordFromPgpass(target, { PGPASSFILE: file })).toBeUndefined();
});

test('a dump cut short passes pg_restore --list but not verification, compressed by zstd or by pg_dump', async () => {
  const db = await createDb(`${SAMPLE_SCHEMA} CREATE TABLE filler AS SELECT g, md5(g::text) || md5(random()::text) AS t FROM generate_series(1, 100000) g;`);
  cleanups.push(() => dropDbs(db));
  const dir = await tempDir();
  for (const compression of ['zstd', 'gzip'] as const) {
    const dump = await dumpDatabase(targetOf(db), join(dir, `db.${compression}`), { compression });
    expect(dump.compression).toBe(compression);
    expect(await sha256File(dump.file)).toBe(dump.sha256);
    expect((await verifyDump(targetOf(db), dump, 'quick')).result).toBe('ok');
    await truncate(dump.file, Math.floor(dump.size * 0.6));
    // Recorded after the cut, as if the file had been cut while being written: only reading it through tells.
    const cut = { ...dump, sha256: await sha256File(dump.file) };
    if (compression === 'gzip') await runTool('pg_restore', ['--list', dump.file], process.env, { kind: 'backup', stage: 'test' });
    const err = await verifyDump(targetOf(db), cut, 'quick').catch((e: unknown) => e as SafeRunError);
    expect(err).toBeInstanceOf(SafeRunError);
    expect(err.message).toMatch(compression === 'zstd' ? /is damaged or cut short/ : /cannot be read through/);
    // And with the checksum recorded before the cut, the checksum alone refuses it.
    const bad = await verifyDump(targetOf(db), dump, 'quick').catch((e: unknown) => e as SafeRunError);
    expect(bad.message).toMatch(/does not match its checksum/);
  }
  expect((await readFile(join(dir, 'db.gzip'))).length).toBeGreaterThan(0);
});
