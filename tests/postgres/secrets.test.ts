// A password given in the URL never reaches argv, an environment, a message or a file other than the
// private passfile, and the passfile is gone afterwards, even when the process is killed by a signal.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import { expect, test } from 'vitest';
import { connectPg, dumpDatabase, parsePostgresUrl } from '../../src/engines/postgres/index.js';
import { dropDbs, randomDbName, SAMPLE_SCHEMA, SERVER, sql, cleanups } from './pg-test-db.js';

/** A database owned by a fresh role with a fresh password; big enough that pg_dump runs for a while. */
async function passwordDb(): Promise<{ url: string; password: string; db: string }> {
  const role = randomDbName('r');
  const password = `pw-${randomBytes(12).toString('hex')}:x\\y`;
  await sql('postgres', `CREATE ROLE ${role} LOGIN CREATEDB`);
  await sql('postgres', `ALTER ROLE ${role} PASSWORD '${password}'`);
  const db = randomDbName();
  await sql('postgres', `CREATE DATABASE ${db} OWNER ${role}`);
  await sql(db, `SET ROLE ${role}; ${SAMPLE_SCHEMA} CREATE TABLE filler AS SELECT g, md5(g::text) || md5(random()::text) AS t FROM generate_series(1, 200000) g;`);
  cleanups.push(async () => {
    await dropDbs(db);
    await sql('postgres', `DROP ROLE IF EXISTS ${role}`);
  });
  const url = SERVER.replace('postgres@', `${role}:${encodeURIComponent(password)}@`) + `/${db}`;
  return { url, password, db };
}

/** Every process's argv and environment, as one text each. */
function processTexts(): string[] {
  const out: string[] = [];
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    for (const f of ['cmdline', 'environ']) {
      try {
        out.push(`${pid} ${f} ${readFileSync(`/proc/${pid}/${f}`, 'latin1')}`);
      } catch {
        // The process ended meanwhile.
      }
    }
  }
  return out;
}

function passfileDirs(): string[] {
  return readdirSync(tmpdir()).filter((n) => n.startsWith('safe-run-pg-')).map((n) => join(tmpdir(), n));
}

test('the password is in no process list, environment, message or file while and after pg_dump runs', async () => {
  const { url, password } = await passwordDb();
  const dir = await mkdtemp(join(tmpdir(), 'srt-pg-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  const parsed = parsePostgresUrl(url);
  expect(parsed.location).not.toContain(password);
  expect(parsed.target.password).toBe(password);

  const leaks: string[] = [];
  let sawDump = false;
  const passfiles = new Map<string, { dirMode: number; fileMode: number; content: string }>();
  let polling = true;
  const poll = (async () => {
    while (polling) {
      for (const t of processTexts()) {
        if (t.includes(password)) leaks.push(t.slice(0, 80));
        if (/^\d+ cmdline \S*pg_dump\0.*--snapshot=/.test(t)) sawDump = true;
      }
      for (const d of passfileDirs()) {
        try {
          const f = join(d, 'pgpass');
          const content = readFileSync(f, 'utf8');
          // Other test files run alongside and write passfiles of their own: count only this test's.
          if (content.includes(password.replace(/\\/g, '\\\\').replace(/:/g, '\\:'))) passfiles.set(d, { dirMode: statSync(d).mode & 0o777, fileMode: statSync(f).mode & 0o777, content });
        } catch {
          // Not written yet, or already removed.
        }
      }
      await new Promise((r) => setTimeout(r, 2));
    }
  })();
  const started = Date.now();
  const dump = await dumpDatabase(parsed.target, join(dir, 'db.dump'));
  polling = false;
  await poll;
  expect(sawDump).toBe(true);
  expect(leaks).toEqual([]);
  const seen = [...passfiles.entries()];
  expect(seen.length).toBe(1);
  expect(seen[0]![1].dirMode).toBe(0o700);
  expect(seen[0]![1].fileMode).toBe(0o600);
  expect(seen[0]![1].content).toBe(`*:*:*:*:${password.replace(/\\/g, '\\\\').replace(/:/g, '\\:')}\n`);
  expect(existsSync(seen[0]![0])).toBe(false);
  expect(JSON.stringify(dump)).not.toContain(password);
  // No file written during the run, under the temp dir, holds the password.
  for (const f of filesNewerThan(tmpdir(), started)) expect(readFileSync(f, 'latin1').includes(password), f).toBe(false);

  const unreachable = parsePostgresUrl(url.replace(':5432/', ':1/'));
  const err = await connectPg(unreachable.target).catch((e: Error) => e);
  expect(err.message).toMatch(/connection refused/);
  expect(`${err.message} ${(err as { hint?: string }).hint} ${String((err as Error).cause)}`).not.toContain(password);
});

test('a dump killed by SIGTERM leaves no passfile behind', async () => {
  const { url } = await passwordDb();
  const dir = await mkdtemp(join(tmpdir(), 'srt-pg-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  const bundle = join(dir, 'dump-child.mjs');
  await build({ entryPoints: [join(import.meta.dirname, 'fixtures/dump-child.ts')], bundle: true, platform: 'node', format: 'esm', outfile: bundle, external: ['pg-native'], logLevel: 'warning', banner: { js: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);" } });
  const before = new Set(passfileDirs());
  const child = spawn(process.execPath, [bundle, url, join(dir, 'db.dump')], { stdio: ['ignore', 'pipe', 'pipe'] });
  let mine: string | undefined;
  const deadline = Date.now() + 20_000;
  while (!mine && Date.now() < deadline) {
    mine = passfileDirs().find((d) => !before.has(d) && existsSync(join(d, 'pgpass')));
    await new Promise((r) => setTimeout(r, 5));
  }
  expect(mine).toBeDefined();
  child.kill('SIGTERM');
  const [code, signal] = await new Promise<[number | null, string | null]>((r) => child.once('exit', (c, s) => r([c, s])));
  expect(signal ?? code).toBe('SIGTERM');
  expect(existsSync(mine!)).toBe(false);
});

function filesNewerThan(root: string, since: number, depth = 2): string[] {
  const out: string[] = [];
  let names: string[];
  try {
    names = readdirSync(root);
  } catch {
    return out;
  }
  for (const n of names) {
    const p = join(root, n);
    try {
      const s = statSync(p);
      if (s.isDirectory() && depth > 0) out.push(...filesNewerThan(p, since, depth - 1));
      else if (s.isFile() && s.mtimeMs >= since && s.size < 50_000_000) out.push(p);
    } catch {
      // Gone meanwhile.
    }
  }
  return out;
}
