// The first backup reads the database once: hashed as it is copied, checked on the live read snapshot
// while the copy is made when that provably reads the copied bytes, else the copy is checked.
import Database from 'better-sqlite3';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FIXTURES, integrityOf, runCli } from './helpers/cli.js';
import { backupFileOf } from './helpers/store.js';

interface ListedBackup {
  id: string;
  path: string;
  sha256: string;
  check: { level: string; result: string; on?: string };
  /** Set for a page backup (a repeat backup keeps only its new pages): read it through backupFileOf. */
  pages: unknown;
}

const cleanups: Array<() => void> = [];
afterAll(() => cleanups.splice(0).forEach((c) => c()));

/** A project with one database `app` of about `mb` MB of 1 KB rows (items), in WAL or rollback-journal mode. */
function project(mb: number, wal: boolean) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'safe-run-first-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const dbPath = path.join(dir, 'data', 'app.db');
  mkdirSync(path.dirname(dbPath));
  const db = new Database(dbPath);
  if (wal) db.pragma('journal_mode = WAL');
  db.exec('CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL, payload BLOB)');
  db.exec('CREATE INDEX items_name ON items (name)');
  const rows = Math.max(100, Math.round((mb * 1e6) / 1100));
  db.prepare("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?) INSERT INTO items (name, payload) SELECT 'item ' || i, randomblob(1000) FROM n").run(rows);
  db.close(); // the last connection: the WAL is folded in and removed
  writeFileSync(path.join(dir, 'safe-run.config.json'), JSON.stringify({ databases: [{ name: 'app', url: 'data/app.db' }] }));
  return { dir, dbPath, rows };
}

function countOf(file: string): number {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    return db.prepare('SELECT count(*) FROM items').pluck().get() as number;
  } finally {
    db.close();
  }
}

const sha256 = (bytes: Buffer) => createHash('sha256').update(bytes).digest('hex');

async function backUp(dir: string): Promise<ListedBackup> {
  const r = await runCli(['backup'], { cwd: dir });
  expect(r.code, r.stderr).toBe(0);
  const listed = JSON.parse((await runCli(['list', '--json'], { cwd: dir })).stdout) as ListedBackup[];
  expect(listed).toHaveLength(1);
  return listed[0]!;
}

// 1 MB is checked on the snapshot's own connection, 40 MB in worker threads on snapshots of their own.
describe.each([1, 40])('the first backup of a %d MB database', (mb) => {
  it('in WAL mode is checked on the live read snapshot, and stores the live bytes with the header in rollback-journal mode', async () => {
    const p = project(mb, true);
    const live = readFileSync(p.dbPath);
    expect([live[18], live[19]]).toEqual([2, 2]);
    const b = await backUp(p.dir);
    expect(b.check).toMatchObject({ level: 'quick', result: 'ok', on: 'snapshot' });
    const stored = readFileSync(b.path);
    // Exactly the live file's bytes but for the journal mode (1: rollback-journal), and hashed as stored.
    live[18] = 1;
    live[19] = 1;
    expect(sha256(stored)).toBe(sha256(live));
    expect(sha256(stored)).toBe(b.sha256);
    expect(existsSync(`${b.path}-wal`)).toBe(false);
    expect(integrityOf(b.path)).toBe('ok');
    expect(countOf(b.path)).toBe(p.rows);
  });

  it('says in show --json what the check of a guarded run\'s backup read', async () => {
    const p = project(mb, true);
    const run = await runCli(['--', 'true'], { cwd: p.dir });
    expect(run.code, run.stderr).toBe(0);
    const shown = JSON.parse((await runCli(['show', 'last', '--json'], { cwd: p.dir })).stdout) as { backups: Array<{ checkedWhenTaken: unknown; verified: boolean }> };
    expect(shown.backups[0]).toMatchObject({ checkedWhenTaken: { level: 'quick', result: 'ok', on: 'snapshot' }, verified: true });
  });

  it('in rollback-journal mode is checked on the live read snapshot and stores the live file byte for byte', async () => {
    const p = project(mb, false);
    const b = await backUp(p.dir);
    expect(b.check).toMatchObject({ result: 'ok', on: 'snapshot' });
    expect(b.sha256).toBe(sha256(readFileSync(p.dbPath)));
    expect(sha256(readFileSync(b.path))).toBe(b.sha256);
  });

  it('fails on a database with a damaged page, and the command does not run', async () => {
    const p = project(mb, true);
    // One page more than the b-trees use (counted in the header): quick_check says "Page N: never used".
    const file = readFileSync(p.dbPath);
    const pageSize = file.readUInt16BE(16);
    const grown = Buffer.concat([file, Buffer.alloc(pageSize)]);
    grown.writeUInt32BE(grown.length / pageSize, 28);
    writeFileSync(p.dbPath, grown);
    const r = await runCli(['--', 'touch', 'ran'], { cwd: p.dir });
    expect(r.code, r.stderr).toBe(125);
    expect(r.stderr).toMatch(/integrity check failed: .*never used/);
    expect(existsSync(path.join(p.dir, 'ran'))).toBe(false);
    const listed = JSON.parse((await runCli(['list', '--json'], { cwd: p.dir })).stdout) as ListedBackup[];
    expect(listed).toHaveLength(0);
  });
});

/** Start a fixture that prints "ready" once it is set; killed at the end of the file's tests. */
async function startFixture(script: string, args: string[]) {
  const child = spawn(process.execPath, [path.join(FIXTURES, script), ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  cleanups.unshift(() => child.exitCode === null && child.kill('SIGKILL'));
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (err += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
  while (!out.includes('ready')) {
    if (child.exitCode !== null) throw new Error(`${script} failed: ${err}`);
    await new Promise((r) => setTimeout(r, 10));
  }
  return { child, exited, out: () => out, err: () => err };
}

describe('the first backup of a WAL database written to meanwhile', () => {
  it('checks the live file as copied even when a transaction commits during the copy, and holds the rows from before it', async () => {
    const p = project(100, true);
    const f = await startFixture('commit-during-copy.mjs', [p.dbPath, p.dir]);
    const b = await backUp(p.dir);
    expect(await f.exited, f.err()).toBe(0);
    expect(f.out()).toContain('committed');
    expect(b.check).toMatchObject({ result: 'ok', on: 'snapshot' });
    expect(countOf(b.path)).toBe(p.rows);
    expect(countOf(p.dbPath)).toBe(p.rows + 1);
    expect(integrityOf(b.path)).toBe('ok');
    expect(sha256(readFileSync(b.path))).toBe(b.sha256);
  });

  it('without SQLite URIs (SQLITE_USE_URI=0), checks the copy when a transaction commits during the copy, and on the snapshot when none does', async () => {
    const p = project(100, true);
    const f = await startFixture('commit-during-copy.mjs', [p.dbPath, p.dir]);
    const r = await runCli(['backup'], { cwd: p.dir, env: { SQLITE_USE_URI: '0' } });
    expect(r.code, r.stderr).toBe(0);
    expect(await f.exited, f.err()).toBe(0);
    const quiet = await runCli(['backup'], { cwd: p.dir, env: { SQLITE_USE_URI: '0' } });
    expect(quiet.code, quiet.stderr).toBe(0);
    const listed = JSON.parse((await runCli(['list', '--json'], { cwd: p.dir })).stdout) as ListedBackup[];
    // Newest first: the quiet one, then the one with a commit during its copy.
    expect(listed.map((b) => b.check.on)).toEqual(['snapshot', 'copy']);
    expect(countOf(await backupFileOf(p.dir, listed[1]!))).toBe(p.rows);
    expect(countOf(await backupFileOf(p.dir, listed[0]!))).toBe(p.rows + 1); // the second is a page backup
  });

  it('folds a -wal that a reader keeps from being checkpointed into the copy, checks the copy, and holds every committed row', async () => {
    const p = project(40, true);
    const reader = await startFixture('hold-old-snapshot.mjs', [p.dbPath]);
    const db = new Database(p.dbPath, { fileMustExist: true });
    db.prepare("INSERT INTO items (name) VALUES ('after the reader began')").run();
    db.close(); // its checkpoint cannot pass the reader's snapshot: the row stays in the -wal
    expect(statSync(`${p.dbPath}-wal`).size).toBeGreaterThan(0);
    const b = await backUp(p.dir);
    reader.child.stdin.end();
    expect(await reader.exited, reader.err()).toBe(0);
    expect(b.check).toMatchObject({ result: 'ok', on: 'copy' });
    expect(countOf(b.path)).toBe(p.rows + 1);
    expect(existsSync(`${b.path}-wal`)).toBe(false);
    expect([...readFileSync(b.path).subarray(18, 20)]).toEqual([1, 1]);
    expect(integrityOf(b.path)).toBe('ok');
    expect(sha256(readFileSync(b.path))).toBe(b.sha256);
  });
});
