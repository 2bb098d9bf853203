// Backups taken while another process commits: consistent, complete (WAL included), self-contained, restorable.
import Database from 'better-sqlite3';
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FIXTURES, integrityOf, runCli, tempProject } from './helpers/cli.js';
import { backupFileOf } from './helpers/store.js';

const WRITER = path.join(FIXTURES, 'writer-transfers.mjs');
const ACCOUNTS = 1000;
const TOTAL = ACCOUNTS * 100;

interface ListedBackup {
  id: string;
  path: string;
  /** Set for a page backup: its file is made again from the pages it shares with earlier backups. */
  pages: { pageSize: number; pageCount: number } | null;
  sha256: string;
  database: string;
  kind: string;
}

const cleanups: Array<() => void> = [];
afterAll(() => cleanups.splice(0).forEach((c) => c()));

/** A project whose config names one database, `bank`, made by the writer fixture (about 50 MB, mostly blobs). */
function bankProject() {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'safe-run-live-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const dbPath = path.join(dir, 'data', 'bank.db');
  mkdirSync(path.dirname(dbPath));
  const init = spawnSync(process.execPath, [WRITER, 'init', dbPath, String(ACCOUNTS), '48'], { encoding: 'utf8' });
  expect(init.status, init.stderr).toBe(0);
  writeFileSync(path.join(dir, 'safe-run.config.json'), JSON.stringify({ databases: [{ name: 'bank', url: 'data/bank.db' }] }));
  return { dir, dbPath };
}

/** Start the writer and resolve once it has committed; `stop()` ends it and resolves with its commit count. */
async function startWriter(dbPath: string) {
  const child = spawn(process.execPath, [WRITER, 'run', dbPath], { stdio: ['pipe', 'pipe', 'pipe'] }) as ChildProcessWithoutNullStreams;
  let out = '';
  let err = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (err += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  cleanups.unshift(() => child.exitCode === null && child.kill('SIGKILL'));
  await waitFor(() => out.includes('ready'), 10_000, () => `writer did not start: ${err}`);
  return {
    send: (line: string) => child.stdin.write(line + '\n'),
    /** Fail fast if the writer died (a SQLITE_BUSY from safe-run's snapshot would kill it). */
    assertAlive: () => expect(child.exitCode, `writer died: ${err}`).toBeNull(),
    async stop() {
      child.stdin.end('stop\n');
      const code = await exited;
      expect(code, `writer failed: ${err}`).toBe(0);
      return Number(/stopped (\d+)/.exec(out)?.[1]);
    },
  };
}

async function waitFor(cond: () => boolean, timeoutMs: number, why: () => string) {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > timeoutMs) throw new Error(why());
    await new Promise((r) => setTimeout(r, 10));
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Committed ticks as another reader sees them now. */
function ticksOf(dbPath: string): number {
  const db = new Database(dbPath, { readonly: true, fileMustExist: true });
  try {
    return db.prepare('SELECT count(*) FROM ticks').pluck().get() as number;
  } finally {
    db.close();
  }
}

/** The invariants of the writer's every commit, read from a backup; returns its tick count. */
function checkBank(file: string, journalMode = 'delete'): number {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
    expect(db.pragma('journal_mode', { simple: true })).toBe(journalMode);
    const { n, total, moves } = db.prepare('SELECT count(*) AS n, sum(balance) AS total, sum(moves) AS moves FROM accounts').get() as {
      n: number;
      total: number;
      moves: number;
    };
    expect(n).toBe(ACCOUNTS);
    expect(total).toBe(TOTAL);
    const { ticks, maxId } = db.prepare('SELECT count(*) AS ticks, coalesce(max(id), 0) AS maxId FROM ticks').get() as { ticks: number; maxId: number };
    expect(moves).toBe(2 * ticks); // accounts and ticks from the same commit
    expect(maxId).toBe(ticks); // a prefix of the commits, no hole
    const torn = db
      .prepare('SELECT id, data, sha FROM filler')
      .all()
      .filter((r) => {
        const row = r as { data: Buffer; sha: string };
        return createHash('sha256').update(row.data).digest('hex') !== row.sha;
      });
    expect(torn).toEqual([]);
    return ticks;
  } finally {
    db.close();
  }
}

/** A digest of every row of a table, values in column order, blobs as bytes. */
function tableDigest(file: string, table: string): string {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    const h = createHash('sha256');
    for (const row of db.prepare(`SELECT * FROM "${table}" ORDER BY rowid`).raw().iterate() as Iterable<unknown[]>) {
      for (const v of row) h.update(Buffer.isBuffer(v) ? v : `${typeof v}:${String(v)}`).update('\0');
      h.update('\n');
    }
    return h.digest('hex');
  } finally {
    db.close();
  }
}

async function listBackups(cwd: string): Promise<ListedBackup[]> {
  const r = await runCli(['list', '--json'], { cwd });
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as ListedBackup[];
}

/** A backup is one file: nothing beside it, its header says rollback journal, and it opens read-only. */
function expectSelfContained(file: string) {
  for (const suffix of ['-wal', '-shm', '-journal']) expect(existsSync(file + suffix), `${file}${suffix} exists`).toBe(false);
  const header = readFileSync(file).subarray(0, 20);
  expect([header[18], header[19]]).toEqual([1, 1]);
  expect(statSync(file).mode & 0o077).toBe(0);
}

describe('a backup under a live writer', () => {
  const fromLiveWriter: Array<{ id: string; path: string }> = [];
  let liveProject: { dir: string; dbPath: string } | undefined;

  it('is a consistent, self-contained copy of a database that another process commits to throughout', async () => {
    const p = bankProject();
    liveProject = p;
    const writer = await startWriter(p.dbPath);
    const known = new Set<string>();
    try {
      for (let round = 0; round < 5; round++) {
        // Round 0: the WAL only grows. Then the writer also checkpoints (PASSIVE) every 20 commits, so pages
        // of the main file change while it is being copied and the WAL starts over whenever it can.
        if (round === 1) writer.send('checkpoint-every 20');
        await sleep(250);
        writer.assertAlive();
        const walSize = statSync(`${p.dbPath}-wal`).size;
        expect(walSize).toBeGreaterThan(0);
        const before = ticksOf(p.dbPath);

        // Two of them go through a guarded run, the others through "safe-run backup".
        const guarded = round % 2 === 1;
        const run = guarded ? await runCli(['--', 'true'], { cwd: p.dir }) : await runCli(['backup', '--reason', `round ${round}`], { cwd: p.dir });
        const after = ticksOf(p.dbPath);
        expect(run.code, run.stderr).toBe(0);
        writer.assertAlive();
        expect(after, 'no commit landed while the backup ran').toBeGreaterThan(before);

        const fresh = (await listBackups(p.dir)).filter((b) => !known.has(b.id));
        expect(fresh).toHaveLength(1);
        const backup = fresh[0]!;
        known.add(backup.id);
        expect(backup.kind).toBe(guarded ? 'pre-run' : 'manual');
        // After the first, each is a page backup: the writer changes a few pages between two backups.
        expect(backup.pages === null).toBe(round === 0);
        const file = await backupFileOf(p.dir, backup);
        expect(createHash('sha256').update(readFileSync(file)).digest('hex')).toBe(backup.sha256);
        expectSelfContained(file);
        const ticks = checkBank(file);
        // Not stale: everything committed before safe-run started is in it; nothing from after it ended.
        expect(ticks).toBeGreaterThanOrEqual(before);
        expect(ticks).toBeLessThanOrEqual(after);
        expectSelfContained(file); // checking it did not leave a -wal or -journal beside it either
        fromLiveWriter.push({ id: backup.id, path: file });
      }
    } finally {
      await writer.stop();
    }
    // The live database came through it all whole, with every commit of the writer.
    expect(integrityOf(p.dbPath)).toBe('ok');
    expect(checkBank(p.dbPath, 'wal')).toBeGreaterThan(0);
  });

  it('contains commits that are still only in the -wal of a connection held open', async () => {
    const p = tempProject('safe-run-walonly-', { rows: 100 });
    cleanups.push(p.cleanup);
    const conn = new Database(p.dbPath);
    try {
      conn.pragma('journal_mode = WAL');
      conn.pragma('wal_autocheckpoint = 0');
      const insert = conn.prepare('INSERT INTO users (name, balance) VALUES (?, ?)');
      for (let batch = 0; batch < 5; batch++) {
        conn.transaction(() => {
          for (let i = 0; i < 100; i++) insert.run(`wal-only ${batch}.${i}`, 7);
        })();
      }
      conn.prepare("UPDATE users SET name = 'changed in the wal' WHERE id = 1").run();
      const expected = conn.prepare('SELECT * FROM users ORDER BY rowid').all();
      expect(expected).toHaveLength(600);

      // The premise: the database file alone does not have them (they live only in the -wal).
      const mainOnly = path.join(p.dir, 'main-only.db');
      copyFileSync(p.dbPath, mainOnly);
      const bare = new Database(mainOnly);
      expect(bare.prepare("SELECT count(*) FROM users WHERE name LIKE 'wal-only%'").pluck().get()).toBe(0);
      bare.close();
      expect(statSync(`${p.dbPath}-wal`).size).toBeGreaterThan(0);

      const run = await runCli(['backup', '--json'], { cwd: p.dir });
      expect(run.code, run.stderr).toBe(0);
      const [backup] = JSON.parse(run.stdout) as ListedBackup[];
      const listed = await listBackups(p.dir);
      expect(listed.map((b) => b.id)).toEqual([backup!.id]);
      expectSelfContained(listed[0]!.path);
      expect(integrityOf(listed[0]!.path)).toBe('ok');
      const db = new Database(listed[0]!.path, { readonly: true, fileMustExist: true });
      expect(db.prepare('SELECT * FROM users ORDER BY rowid').all()).toEqual(expected);
      db.close();

      // The held connection is untouched by the backup: it goes on writing.
      insert.run('after the backup', 1);
      expect(conn.prepare('SELECT count(*) FROM users').pluck().get()).toBe(601);
    } finally {
      conn.close();
    }
    expect(integrityOf(p.dbPath)).toBe('ok');
  });

  it('is restorable: each backup taken under the writer restores to a fresh path with the same rows', async () => {
    expect(fromLiveWriter, 'the live-writer test above must run first').toHaveLength(5);
    const p = liveProject!;
    for (const [i, b] of fromLiveWriter.entries()) {
      const into = path.join(p.dir, 'restored', `copy-${i}.db`);
      mkdirSync(path.dirname(into), { recursive: true });
      const r = await runCli(['restore', b.id, '--into', into, '--yes'], { cwd: p.dir });
      expect(r.code, r.stderr).toBe(0);
      expect(integrityOf(into)).toBe('ok');
      checkBank(into);
      for (const table of ['accounts', 'ticks', 'filler']) expect(tableDigest(into, table), table).toBe(tableDigest(b.path, table));
      // Restoring does not consume or change the backup.
      expect(integrityOf(b.path)).toBe('ok');
    }
  });
});
