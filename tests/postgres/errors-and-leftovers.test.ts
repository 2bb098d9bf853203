// Each failure is one clear line with a hint; what a killed run left behind is swept, and nothing else.
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { expect, test } from 'vitest';
import { SafeRunError } from '../../src/errors.js';
import { backupDatabase, connectPg, dumpDatabase, listSafeRunDatabases, parsePostgresUrl, removeLeftovers } from '../../src/engines/postgres/index.js';
import { pgFailure } from '../../src/engines/postgres/errors.js';
import { createOwned, markKept } from '../../src/engines/postgres/owned-db.js';
import { createDb, dropDbs, randomDbName, SAMPLE_SCHEMA, SERVER, targetOf, cleanups } from './pg-test-db.js';

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'srt-pg-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

function oneLine(err: unknown): SafeRunError {
  expect(err).toBeInstanceOf(SafeRunError);
  const e = err as SafeRunError;
  expect(e.message).not.toContain('\n');
  expect(e.hint).toBeTruthy();
  return e;
}

test('an unreachable server is one line with a hint', async () => {
  const err = await connectPg(parsePostgresUrl('postgres://postgres:secret@127.0.0.1:1/app').target).catch((e: unknown) => e);
  const e = oneLine(err);
  expect(e.message).toBe('cannot reach the PostgreSQL server: connection refused (postgres://postgres@127.0.0.1:1/app)');
  expect(e.hint).toMatch(/host and port/);
});

test('an unknown host is one line with a hint', async () => {
  const err = await connectPg(parsePostgresUrl('postgres://postgres@no-such-host.invalid:5432/app').target).catch((e: unknown) => e);
  const e = oneLine(err);
  expect(e.message).toMatch(/^cannot reach the PostgreSQL server: (unknown host|timed out)/);
});

test('a database that does not exist is named', async () => {
  const name = randomDbName('missing');
  const dir = await tempDir();
  const err = await backupDatabase(targetOf(name), 'auto', { backupId: 'x', dumpFile: join(dir, 'd') }).catch((e: unknown) => e);
  const e = oneLine(err);
  expect(e.message).toContain(`database "${name}" does not exist`);
  expect(e.hint).toMatch(/psql -l/);
});

test('a missing pg_dump says so before anything is written', async () => {
  const db = await createDb(SAMPLE_SCHEMA);
  cleanups.push(() => dropDbs(db));
  const dir = await tempDir();
  const err = await dumpDatabase(targetOf(db), join(dir, 'd'), { binDir: dir }).catch((e: unknown) => e);
  const e = oneLine(err);
  expect(e.message).toBe(`dump failed: pg_dump not found in ${dir}`);
  expect(e.database).toBe(`postgres://postgres@127.0.0.1:5432/${db}`);
  expect(e.hint).toMatch(/install the PostgreSQL client tools/);
});

test('a pg_dump older than the server is refused before it runs', async () => {
  // A stand-in for an older client install: only its --version answer matters, it is never run further.
  const db = await createDb(SAMPLE_SCHEMA);
  cleanups.push(() => dropDbs(db));
  const dir = await tempDir();
  await writeFile(join(dir, 'pg_dump'), '#!/bin/sh\necho "pg_dump (PostgreSQL) 13.9"\n');
  await chmod(join(dir, 'pg_dump'), 0o755);
  const err = await dumpDatabase(targetOf(db), join(dir, 'd'), { binDir: dir }).catch((e: unknown) => e);
  const e = oneLine(err);
  expect(e.message).toMatch(/server version mismatch: pg_dump is version 13, the server is version 15/);
  expect(e.hint).toMatch(/postgresql-client-15/);
});

test('a dump never overwrites, nor on failure removes, a file that was already there', async () => {
  const db = await createDb(SAMPLE_SCHEMA);
  cleanups.push(() => dropDbs(db));
  const file = join(await tempDir(), 'taken');
  await writeFile(file, 'precious');
  const e = oneLine(await dumpDatabase(targetOf(db), file).catch((err: unknown) => err));
  expect(e.message).toMatch(/already exists/);
  expect(await readFile(file, 'utf8')).toBe('precious');
});

test('a wrong password, as the server reports it, becomes one line without the password', () => {
  // Trust auth on this server never checks passwords: this is the error pg raises for SQLSTATE 28P01.
  const raw = Object.assign(new Error('password authentication failed for user "app"'), { code: '28P01' });
  const e = oneLine(pgFailure(raw, { kind: 'backup', stage: 'connect', database: 'postgres://app@db:5432/app', secrets: ['hunter2'] }));
  expect(e.message).toBe('wrong password for the PostgreSQL role (postgres://app@db:5432/app)');
  expect(e.hint).toMatch(/PGPASSWORD or ~\/\.pgpass/);
  const tool = oneLine(pgFailure(new Error('pg_dump: error: connection to server failed: FATAL:  password authentication failed for user "app" hunter2'), { kind: 'backup', stage: 'backup', secrets: ['hunter2'] }));
  expect(tool.message).not.toContain('hunter2');
  expect(String((tool.cause as Error).message)).not.toContain('hunter2');
});

test('the sweep drops a half-made database whose creator is gone, and keeps kept and in-progress ones', async () => {
  const target = targetOf('postgres');
  const connect = async () => {
    const c = new pg.Client({ connectionString: `${SERVER}/postgres` });
    await c.connect();
    return c;
  };
  const dead = await connect();
  const abandoned = `safe_run_stage_${randomDbName('t')}`;
  await createOwned(dead, abandoned, `CREATE DATABASE ${abandoned}`);
  await dead.end(); // its creator is gone: the owner key is free
  const alive = await connect();
  const building = `safe_run_stage_${randomDbName('t')}`;
  await createOwned(alive, building, `CREATE DATABASE ${building}`);
  const kept = `safe_run_${randomDbName('t')}`;
  await createOwned(alive, kept, `CREATE DATABASE ${kept}`);
  await markKept(alive, kept, 'a test backup');
  cleanups.push(async () => {
    await alive.end();
    await dropDbs(abandoned, building, kept);
  });

  const listed = new Map((await listSafeRunDatabases(target)).map((d) => [d.name, d.state]));
  expect([listed.get(abandoned), listed.get(building), listed.get(kept)]).toEqual(['abandoned', 'building', 'kept']);
  const dropped = await removeLeftovers(target);
  expect(dropped).toContain(abandoned);
  expect(dropped).not.toContain(building);
  expect(dropped).not.toContain(kept);
  const after = new Map((await listSafeRunDatabases(target)).map((d) => [d.name, d.state]));
  expect([after.get(abandoned), after.get(building), after.get(kept)]).toEqual([undefined, 'building', 'kept']);
});
