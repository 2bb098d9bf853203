// PostgreSQL through the real CLI: guarded runs, rollbacks with an application connected, the lock that
// two projects (two stores, two logs) share on the server, diff and list, and the errors a user meets.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BIN, runCli } from '../helpers/cli.js';
import { appSession, dropDbs, randomDbName, SERVER, sql } from './pg-test-db.js';

const dropped: string[] = [];
const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
  const ours = await sql<{ d: string }>('postgres', `SELECT datname AS d FROM pg_database WHERE datname LIKE 'safe\\_run\\_%'`);
  const mine = [];
  for (const { d } of ours) {
    const [c] = await sql<{ c: string | null }>('postgres', `SELECT shobj_description(oid, 'pg_database') AS c FROM pg_database WHERE datname = $1`, [d]);
    if (dropped.some((db) => c?.c?.includes(db))) mine.push(d);
  }
  await dropDbs(...dropped, ...mine);
});

async function project(strategy?: string) {
  const db = randomDbName('cli');
  dropped.push(db);
  await sql('postgres', `CREATE DATABASE ${db}`);
  await sql(db, `CREATE TABLE accounts (id int PRIMARY KEY, balance bigint NOT NULL); INSERT INTO accounts SELECT g, 100 FROM generate_series(1, 500) g;`);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'safe-run-pg-cli-'));
  dirs.push(dir);
  writeFileSync(path.join(dir, 'safe-run.config.json'), JSON.stringify({ databases: [{ name: 'bank', url: `${SERVER}/${db}`, ...(strategy ? { strategy } : {}) }] }));
  const rows = async () => (await sql<{ r: string }>(db, 'SELECT a::text AS r FROM accounts a ORDER BY id')).map((x) => x.r);
  const psql = (statement: string) => ['psql', `${SERVER}/${db}`, '-v', 'ON_ERROR_STOP=1', '-qc', statement];
  return { db, dir, rows, psql };
}

describe('a guarded run against PostgreSQL', () => {
  it('clones an idle database, and the diff and list show what happened', async () => {
    const p = await project();
    const run = await runCli(['--', ...p.psql('DELETE FROM accounts WHERE id > 450')], { cwd: p.dir });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toMatch(/verified in .*clone, row counts match/);
    expect(run.stderr).toMatch(/changed\s+bank: public\.accounts −50 \(of 500\)/);
    const diff = JSON.parse((await runCli(['diff', 'last', '--json'], { cwd: p.dir })).stdout) as { diffs: Array<{ tables: Array<{ name: string; deleted: number }> }> };
    expect(diff.diffs[0]!.tables.find((t) => t.name === 'public.accounts')?.deleted).toBe(50);
    const list = JSON.parse((await runCli(['list', '--json'], { cwd: p.dir })).stdout) as Array<{ serverCopy?: { name: string; size?: number }; state: string }>;
    expect(list[0]!.serverCopy?.name).toMatch(/^safe_run_/);
    expect(list[0]!.state).toBe('verified');
  });

  it('dumps instead when an application is connected, and a rollback then refuses, naming it, until --force', async () => {
    const p = await project();
    const before = await p.rows();
    const app = await appSession(p.db, 'billing-web');
    try {
      const run = await runCli(['--', ...p.psql('UPDATE accounts SET balance = 0')], { cwd: p.dir });
      expect(run.code, run.stderr).toBe(0);
      expect(run.stderr).toMatch(/dump/);
      const refused = await runCli(['rollback', 'last', '--yes'], { cwd: p.dir });
      expect(refused.code).toBe(4);
      expect(refused.stderr).toMatch(/billing-web/);
      expect(refused.stderr).toMatch(/--force/);
      expect(await p.rows()).not.toEqual(before);
      const forced = await runCli(['rollback', 'last', '--yes', '--force'], { cwd: p.dir });
      expect(forced.code, forced.stderr).toBe(0);
    } finally {
      await app.end().catch(() => undefined);
    }
    expect(await p.rows()).toEqual(before);
    // Connections are allowed again: a new application session gets in.
    const again = await appSession(p.db, 'billing-web');
    await again.end();
  });

  it('holds a lock on the server: a second project with its own store and log cannot run at the same time', async () => {
    const a = await project();
    const bDir = mkdtempSync(path.join(os.tmpdir(), 'safe-run-pg-cli-b-'));
    dirs.push(bDir);
    writeFileSync(path.join(bDir, 'safe-run.config.json'), JSON.stringify({ databases: [{ name: 'same', url: `${SERVER}/${a.db}` }], backupDir: 'elsewhere', logFile: 'other.json' }));
    const first = spawn(process.execPath, [BIN, '--', 'sleep', '4'], { cwd: a.dir, stdio: ['ignore', 'ignore', 'pipe'] });
    let firstErr = '';
    first.stderr.on('data', (d) => (firstErr += d));
    const done = new Promise((r) => first.on('close', r));
    try {
      for (let i = 0; i < 100 && !firstErr.includes('──'); i++) await new Promise((r) => setTimeout(r, 100));
      expect(firstErr).toMatch(/──/);
      const second = await runCli(['--no-wait', '--', 'touch', 'ran'], { cwd: bDir });
      expect(second.code).toBe(125);
      expect(second.stderr).toMatch(/locked by another safe-run: .*safe-run \d+@/);
    } finally {
      await done;
    }
  });

  it('says in one line what is wrong with an unreachable server or a missing database, and runs nothing', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'safe-run-pg-cli-bad-'));
    dirs.push(dir);
    for (const [url, why] of [
      ['postgres://postgres@127.0.0.1:1/nothing', /refused|connect/i],
      [`${SERVER}/no_such_database_here`, /does not exist/],
    ] as const) {
      writeFileSync(path.join(dir, 'safe-run.config.json'), JSON.stringify({ databases: [{ name: 'x', url }] }));
      const r = await runCli(['--', 'touch', 'ran'], { cwd: dir });
      expect(r.code).toBe(125);
      expect(r.stderr.split('\n')[0]).toMatch(why);
      expect(r.stderr).toMatch(/try: /);
      expect(r.stderr).not.toMatch(/bug/);
    }
  });
});
