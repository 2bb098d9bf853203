// What a run changed: the page-level diff must agree with a plain row-by-row comparison, always.
import Database from 'better-sqlite3';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ROOT, runCli, tempProject } from './helpers/cli.js';
import { truthCounts, type TruthIdentity, type TruthSide } from './helpers/row-truth.js';

type Diff = {
  tables: Array<{ name: string; status: string; inserted: number; deleted: number; updated: number; rowsBefore: number | null; rowsAfter: number | null; method: string }>;
  schema: Array<{ kind: string; name: string; change: string }>;
  before: { userVersion: number | null };
  after: { userVersion: number | null };
};
const { diffDatabase } = (await import(path.join(ROOT, 'dist', 'engines', 'sqlite', 'diff', 'diff-database.js'))) as {
  diffDatabase: (name: string, a: object, b: object, o?: object) => Promise<Diff>;
};

const dirs: string[] = [];
afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));
function tempDir() {
  const d = mkdtempSync(path.join(os.tmpdir(), 'safe-run-diff-'));
  dirs.push(d);
  return d;
}

/** Ground truth, computed without any page logic: every row of both sides, matched by key (or rowid). */
function truth(beforeFile: string, afterFile: string, table: string, key: string) {
  const side = (file: string): TruthSide => {
    const db = new Database(file, { readonly: true });
    const columns = (db.prepare(`PRAGMA table_info(${table})`).all() as Array<{ name: string }>).map((c) => c.name);
    db.close();
    const identity: TruthIdentity = key === 'rowid' ? { by: 'rowid' } : { by: 'key', key: [key], coll: 'BINARY' };
    return { file, table, columns, identity, rowid: table === 'wr' ? undefined : 'rowid' };
  };
  return truthCounts(side(beforeFile), side(afterFile));
}

/** A seeded random generator, so a failure can be replayed. */
function rng(seed: number) {
  return () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
}

function seed(file: string) {
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.exec(`
    CREATE TABLE ints (id INTEGER PRIMARY KEY, v TEXT, n INTEGER);
    CREATE TABLE uuids (id TEXT PRIMARY KEY, v TEXT, n INTEGER);
    CREATE TABLE nokey (a INTEGER, b TEXT);
    CREATE TABLE blobs (id INTEGER PRIMARY KEY, data BLOB);
    CREATE TABLE wr (k TEXT PRIMARY KEY, v INTEGER) WITHOUT ROWID;
    CREATE TABLE untouched (id INTEGER PRIMARY KEY, v TEXT);
    CREATE INDEX ints_n ON ints(n);`);
  db.transaction(() => {
    for (let i = 0; i < 3000; i++) {
      db.prepare('INSERT INTO ints (v, n) VALUES (?, ?)').run(`v${i}`.repeat(20), i % 50);
      db.prepare('INSERT INTO uuids VALUES (?, ?, ?)').run(`u-${(i * 7919) % 100003}-${i}`, 'x'.repeat(200), i);
      db.prepare('INSERT INTO nokey VALUES (?, ?)').run(i, 'y'.repeat(50));
      if (i < 300) db.prepare('INSERT INTO blobs (data) VALUES (randomblob(6000))').run();
      db.prepare('INSERT INTO wr VALUES (?, ?)').run(`k${i}`, i);
      db.prepare('INSERT INTO untouched (v) VALUES (?)').run('z'.repeat(100));
    }
  })();
  db.pragma('wal_checkpoint(TRUNCATE)');
  db.close();
}

function mutate(db: Database.Database, r: () => number) {
  const pick = (max: number) => 1 + Math.floor(r() * max);
  for (let i = 0; i < 40; i++) db.prepare('UPDATE ints SET v = ? WHERE id = ?').run(`changed ${i}`, pick(3000));
  for (let i = 0; i < 20; i++) db.prepare('DELETE FROM ints WHERE id = ?').run(pick(3000));
  for (let i = 0; i < 15; i++) db.prepare('INSERT INTO ints (v, n) VALUES (?, 1)').run(`new ${i}`);
  for (let i = 0; i < 30; i++) db.prepare('UPDATE uuids SET n = n + 1 WHERE rowid = ?').run(pick(3000));
  for (let i = 0; i < 10; i++) db.prepare('DELETE FROM uuids WHERE rowid = ?').run(pick(3000));
  db.prepare(`UPDATE uuids SET id = id || '-renamed' WHERE rowid = ?`).run(pick(3000));
  db.prepare('UPDATE nokey SET b = ? WHERE a % 97 = ?').run('changed', Math.floor(r() * 97));
  db.prepare('UPDATE blobs SET data = randomblob(6000) WHERE id = ?').run(pick(300));
  db.prepare('UPDATE wr SET v = -1 WHERE k = ?').run(`k${pick(2999)}`);
}

describe('safe-run diff', () => {
  it('agrees with a row-by-row comparison on random changes, with the changes still in the -wal of an open connection', async () => {
    for (const s of [1, 2, 3]) {
      const dir = tempDir();
      const live = path.join(dir, 'live.db');
      const before = path.join(dir, 'before.db');
      seed(live);
      copyFileSync(live, before);
      const writer = new Database(live);
      writer.pragma('wal_autocheckpoint = 0'); // the changes stay in the -wal, the connection stays open
      mutate(writer, rng(s));
      const fast = await diffDatabase('db', { file: before, live: false, label: 'before' }, { file: live, live: true, label: 'now' });
      const plain = await diffDatabase('db', { file: before, live: false, label: 'before' }, { file: live, live: true, label: 'now' }, { pageLevel: false });
      // Ground truth needs the -wal folded in: copy through SQLite's backup of the open connection.
      const folded = path.join(dir, 'folded.db');
      writer.exec(`VACUUM INTO '${folded}'`);
      writer.close();
      for (const [table, key] of [['ints', 'id'], ['uuids', 'id'], ['nokey', 'rowid'], ['blobs', 'id'], ['wr', 'k'], ['untouched', 'id']] as const) {
        const expected = truth(before, folded, table, key);
        const got = fast.tables.find((t) => t.name === table)!;
        expect({ table, seed: s, ...pick(got) }).toEqual({ table, seed: s, ...expected });
        expect(pick(plain.tables.find((t) => t.name === table)!)).toEqual(expected);
      }
      expect(fast.tables.find((t) => t.name === 'untouched')!.method).toBe('skipped');
      expect(fast.tables.find((t) => t.name === 'ints')!.method).toBe('pages');
      expect(fast.tables.find((t) => t.name === 'uuids')!.method).toBe('pages');
    }
  });

  it('reports schema changes and user_version', async () => {
    const dir = tempDir();
    const live = path.join(dir, 'live.db');
    const before = path.join(dir, 'before.db');
    seed(live);
    copyFileSync(live, before);
    const db = new Database(live);
    db.exec(`ALTER TABLE ints ADD COLUMN plan TEXT; DROP TABLE nokey; CREATE TABLE fresh (x); INSERT INTO fresh VALUES (1), (2);
      CREATE INDEX uuids_n ON uuids(n); CREATE VIEW v AS SELECT 1; CREATE TRIGGER t AFTER INSERT ON fresh BEGIN SELECT 1; END;
      PRAGMA user_version = 7;`);
    db.close();
    const d = await diffDatabase('db', { file: before, live: false, label: 'before' }, { file: live, live: true, label: 'now' });
    const changes = d.schema.map((c) => `${c.kind} ${c.name} ${c.change}`);
    expect(changes).toEqual(
      expect.arrayContaining(['column ints.plan added', 'table nokey dropped', 'table fresh added', 'index uuids_n added', 'view v added', 'trigger t added']),
    );
    expect([d.before.userVersion, d.after.userVersion]).toEqual([0, 7]);
    expect(d.tables.find((t) => t.name === 'fresh')).toMatchObject({ status: 'added', rowsAfter: 2, inserted: 2 });
    expect(d.tables.find((t) => t.name === 'nokey')).toMatchObject({ status: 'dropped', rowsBefore: 3000, deleted: 3000 });
    expect(d.tables.find((t) => t.name === 'ints')).toMatchObject({ status: 'unchanged', inserted: 0, deleted: 0, updated: 0 });
  });

  it('shows what a guarded run changed, after the run and with safe-run diff, while an application holds the database open', async () => {
    const p = tempProject('safe-run-diff-cli-', { rows: 500 });
    dirs.push(p.dir);
    const run = await runCli(['--', 'sqlite3', p.dbPath, 'DELETE FROM users WHERE id <= 10; UPDATE users SET balance = 0 WHERE id > 490'], { cwd: p.dir });
    expect(run.code).toBe(0);
    expect(run.stderr).toMatch(/changed\s+app: users −10 ~10 \(of 500\)/);

    // An application now holds the database open and commits more, kept in its -wal.
    const app = new Database(p.dbPath);
    app.pragma('wal_autocheckpoint = 0');
    app.prepare('INSERT INTO users (name, balance) VALUES (?, 1)').run('late');
    const out = await runCli(['diff', 'last', '--json', '--rows', '2'], { cwd: p.dir });
    app.close();
    expect(out.code).toBe(0);
    const users = JSON.parse(out.stdout).diffs[0].tables.find((t: { name: string }) => t.name === 'users');
    expect(users).toMatchObject({ rowsBefore: 500, rowsAfter: 491, inserted: 1, deleted: 10, updated: 10 });
    // Two rows shown, shared among the kinds of change; the rest counted.
    expect(users.samples.deleted.length + users.samples.inserted.length + users.samples.updated.length).toBe(2);
    expect(users.samples.deleted).toHaveLength(1);
    expect(users.samples.more).toBe(19);

    const text = await runCli(['diff', 'last', '--rows'], { cwd: p.dir });
    expect(text.stdout).toContain('users');
    expect(text.stdout).toMatch(/balance: 100 → 0/);
    for (const line of text.stdout.split('\n')) expect(line.length).toBeLessThanOrEqual(80);
  });

  it('compares with another backup with --to, and names a bad id clearly', async () => {
    const p = tempProject('safe-run-diff-to-', { rows: 100 });
    dirs.push(p.dir);
    await runCli(['--', 'sqlite3', p.dbPath, 'DELETE FROM users WHERE id <= 5'], { cwd: p.dir });
    await runCli(['--', 'sqlite3', p.dbPath, 'DELETE FROM users WHERE id <= 50'], { cwd: p.dir });
    const runs = JSON.parse((await runCli(['log', '--json'], { cwd: p.dir })).stdout);
    const [second, first] = runs; // newest first
    const out = await runCli(['diff', first.id, '--to', second.backups[0].id, '--json'], { cwd: p.dir });
    expect(out.code).toBe(0);
    expect(JSON.parse(out.stdout).diffs[0].tables[0]).toMatchObject({ name: 'users', rowsBefore: 100, rowsAfter: 95, deleted: 5 });
    const bad = await runCli(['diff', 'ffffffffffff'], { cwd: p.dir });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/no run with id ffffffffffff/);
  });
});

function pick(t: { inserted: number; deleted: number; updated: number; rowsBefore: number | null; rowsAfter: number | null }) {
  return { inserted: t.inserted, deleted: t.deleted, updated: t.updated, rowsBefore: t.rowsBefore, rowsAfter: t.rowsAfter };
}
