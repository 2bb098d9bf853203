// The diff on table shapes real projects have (issue 8): each case once, page-level and plain SQL alike.
import Database from 'better-sqlite3';
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { DatabaseDiff, TableDiff } from '../src/engines/diff-types.js';
import { ROOT, runCli, tempProject } from './helpers/cli.js';

const { diffDatabase } = (await import(path.join(ROOT, 'dist', 'engines', 'sqlite', 'diff', 'diff-database.js'))) as {
  diffDatabase: (name: string, a: object, b: object, o?: object) => Promise<DatabaseDiff>;
};

const dirs: string[] = [];
afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));

/** A database made by `setup`, copied as the backup, then changed by `change`: the diff both ways. */
async function diffAfter(setup: (db: Database.Database, file: string) => void, change: string) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'safe-run-shapes-'));
  dirs.push(dir);
  const live = path.join(dir, 'live.db');
  const before = path.join(dir, 'before.db');
  const db = new Database(live);
  db.pragma('journal_mode = WAL');
  setup(db, live);
  db.pragma('wal_checkpoint(TRUNCATE)');
  copyFileSync(live, before);
  db.exec(change);
  db.close();
  const sides = [{ file: before, live: false, label: 'before' }, { file: live, live: true, label: 'now' }] as const;
  const pages = await diffDatabase('db', ...sides);
  const plain = await diffDatabase('db', ...sides, { pageLevel: false });
  const counts = (d: DatabaseDiff) => d.tables.map(({ name, status, inserted, deleted, updated, rowsBefore, rowsAfter, key }) => ({ name, status, inserted, deleted, updated, rowsBefore, rowsAfter, key }));
  expect(counts(pages)).toEqual(counts(plain));
  return { d: pages, table: (name: string) => pages.tables.find((t) => t.name === name) as TableDiff };
}

/** A virtual table of a module this SQLite build lacks: nothing can read its rows. */
const GHOST = `INSERT INTO sqlite_schema (type, name, tbl_name, rootpage, sql) VALUES ('table', 'ghost', 'ghost', 0, 'CREATE VIRTUAL TABLE ghost USING nosuchmodule(a)')`;

const fill = (db: Database.Database, sql: string, n: number, row: (i: number) => unknown[]) => {
  const stmt = db.prepare(sql);
  db.transaction(() => {
    for (let i = 0; i < n; i++) stmt.run(...row(i));
  })();
};

describe('safe-run diff on every table shape', () => {
  it('matches rows whose declared primary key is NULL by rowid (drizzle-kit migrations)', async () => {
    const { table } = await diffAfter(
      (db) => {
        db.exec('CREATE TABLE __drizzle_migrations (id SERIAL PRIMARY KEY, hash text NOT NULL, created_at numeric)');
        fill(db, 'INSERT INTO __drizzle_migrations (hash, created_at) VALUES (?, ?)', 2000, (i) => [`h${i}`, i]);
      },
      `UPDATE __drizzle_migrations SET hash = 'changed' WHERE rowid IN (5, 500, 1500);
       DELETE FROM __drizzle_migrations WHERE rowid IN (7, 8);
       INSERT INTO __drizzle_migrations (hash) VALUES ('new');`,
    );
    expect(table('__drizzle_migrations')).toMatchObject({ updated: 3, deleted: 2, inserted: 1, rowsBefore: 2000, rowsAfter: 1999, key: ['id'] });
  });

  it('compares a WITHOUT ROWID table rebuilt as a rowid table, and one whose key column was renamed', async () => {
    const { d, table } = await diffAfter(
      (db) => {
        db.exec('CREATE TABLE kv (k TEXT PRIMARY KEY, v) WITHOUT ROWID; CREATE TABLE tags (name TEXT PRIMARY KEY, n) WITHOUT ROWID; CREATE TABLE other (x)');
        fill(db, 'INSERT INTO kv VALUES (?, ?)', 300, (i) => [`k${i}`, i]);
        fill(db, 'INSERT INTO tags VALUES (?, ?)', 300, (i) => [`t${i}`, i]);
        fill(db, 'INSERT INTO other VALUES (?)', 10, (i) => [i]);
      },
      `CREATE TABLE kv2 (k TEXT PRIMARY KEY, v); INSERT INTO kv2 SELECT * FROM kv; DROP TABLE kv; ALTER TABLE kv2 RENAME TO kv;
       UPDATE kv SET v = -1 WHERE k = 'k3';
       ALTER TABLE tags RENAME COLUMN name TO label; UPDATE tags SET n = -1 WHERE label IN ('t1', 't2');
       DELETE FROM other WHERE x = 0;`,
    );
    expect(table('kv')).toMatchObject({ status: 'changed', updated: 1, inserted: 0, deleted: 0, key: ['k'] });
    expect(table('tags')).toMatchObject({ status: 'changed', updated: 2, inserted: 0, deleted: 0, key: ['label'] });
    expect(table('other')).toMatchObject({ deleted: 1 });
  });

  it('says which table could not be compared and why, and still compares the others', async () => {
    const { table } = await diffAfter(
      (db, file) => {
        db.exec('CREATE TABLE t (x); INSERT INTO t VALUES (1), (2)');
        // The sqlite3 shell may write the schema; better-sqlite3 runs in defensive mode.
        execFileSync('sqlite3', [file, `PRAGMA writable_schema = ON; ${GHOST}; PRAGMA writable_schema = OFF;`]);
      },
      'DELETE FROM t WHERE x = 1',
    );
    expect(table('ghost')).toMatchObject({ status: 'incomparable', reason: expect.stringMatching(/nosuchmodule/) });
    expect(table('t')).toMatchObject({ status: 'changed', deleted: 1 });
  });

  it('sees a value change that a collation or a numeric comparison calls equal', async () => {
    const { table } = await diffAfter(
      (db) => {
        db.exec('CREATE TABLE users (id INTEGER PRIMARY KEY, email TEXT COLLATE NOCASE, name TEXT COLLATE RTRIM, v)');
        fill(db, 'INSERT INTO users (email, name, v) VALUES (?, ?, ?)', 100, (i) => [`u${i}@example.com`, `n${i}`, BigInt(i)]); // BigInt: stored as INTEGER, not REAL
      },
      `UPDATE users SET email = upper(email) WHERE id <= 10;
       UPDATE users SET name = name || '   ' WHERE id BETWEEN 11 AND 15;
       UPDATE users SET v = CAST(v AS REAL) WHERE id BETWEEN 16 AND 18;`,
    );
    expect(table('users')).toMatchObject({ updated: 18, inserted: 0, deleted: 0 });
  });

  it('reaches the real rowid of a table with a column named rowid, quickly', async () => {
    const started = Date.now();
    const { table } = await diffAfter(
      (db) => {
        db.exec('CREATE TABLE events (rowid TEXT, payload TEXT); CREATE TABLE odd (rowid, _rowid_, oid, v)');
        fill(db, 'INSERT INTO events VALUES (?, ?)', 5000, (i) => [`e${i}`, `p${i}`]);
        fill(db, 'INSERT INTO odd VALUES (?, ?, ?, ?)', 50, (i) => [i, i, i, i]);
      },
      `UPDATE events SET payload = 'changed' WHERE _rowid_ IN (10, 2000, 4000); DELETE FROM events WHERE _rowid_ = 20;
       UPDATE odd SET v = -1 WHERE v < 2;`,
    );
    expect(table('events')).toMatchObject({ updated: 3, deleted: 1, inserted: 0, key: ['rowid'] });
    // Nothing reaches odd's rowid: its rows are compared as wholes, an update as a delete and an insert.
    expect(table('odd')).toMatchObject({ updated: 0, deleted: 2, inserted: 2, key: [], reason: expect.stringMatching(/matched whole/) });
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('reports a renamed column as renamed and counts the values changed under it', async () => {
    const { d, table } = await diffAfter(
      (db) => {
        db.exec('CREATE TABLE items (id INTEGER PRIMARY KEY, price INTEGER, name TEXT)');
        fill(db, 'INSERT INTO items (price, name) VALUES (?, ?)', 200, (i) => [i + 1, `i${i}`]);
      },
      'ALTER TABLE items RENAME COLUMN price TO price_cents; UPDATE items SET price_cents = price_cents * 100',
    );
    expect(d.schema).toEqual([{ kind: 'column', name: 'items.price', change: 'renamed', detail: 'price_cents' }]);
    expect(table('items')).toMatchObject({ status: 'changed', updated: 200 });
  });

  it('matches INTEGER PRIMARY KEY DESC rows by the key, which is not the rowid', async () => {
    const { table } = await diffAfter(
      (db) => {
        db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY DESC, v)');
        fill(db, 'INSERT INTO t VALUES (?, ?)', 100, (i) => [i, `v${i}`]);
      },
      'UPDATE t SET id = 1000 WHERE id = 5',
    );
    expect(table('t')).toMatchObject({ updated: 0, deleted: 1, inserted: 1, key: ['id'] });
  });

  it('reports sqlite_sequence, and an FTS5 table by its own name without its shadow tables', async () => {
    const { d, table } = await diffAfter(
      (db) => {
        db.exec(`CREATE TABLE a (id INTEGER PRIMARY KEY AUTOINCREMENT, v); INSERT INTO a (v) VALUES (1);
                 CREATE VIRTUAL TABLE notes_fts USING fts5(body)`);
        fill(db, 'INSERT INTO notes_fts (body) VALUES (?)', 50, (i) => [`note number ${i}`]);
      },
      `INSERT INTO a (v) VALUES (2); DELETE FROM a WHERE v = 2;
       INSERT INTO notes_fts (body) VALUES ('fresh'); UPDATE notes_fts SET body = 'edited' WHERE rowid = 3; DELETE FROM notes_fts WHERE rowid = 4;`,
    );
    expect(table('a')).toMatchObject({ status: 'unchanged' });
    expect(table('sqlite_sequence')).toMatchObject({ status: 'changed', updated: 1 });
    expect(table('notes_fts')).toMatchObject({ status: 'changed', inserted: 1, updated: 1, deleted: 1, rowsBefore: 50, rowsAfter: 50 });
    expect(d.tables.map((t) => t.name).filter((n) => n.startsWith('notes_fts_'))).toEqual([]);
  });

  it('summarises a guarded run on these shapes instead of "could not compare"', async () => {
    const p = tempProject('safe-run-shapes-cli-', { rows: 10 });
    dirs.push(p.dir);
    const setup = new Database(p.dbPath);
    setup.exec(`CREATE TABLE kv (k TEXT PRIMARY KEY, v) WITHOUT ROWID; INSERT INTO kv VALUES ('a', 1), ('b', 2);
                CREATE VIRTUAL TABLE notes_fts USING fts5(body); INSERT INTO notes_fts VALUES ('one'), ('two');`);
    setup.close();
    execFileSync('sqlite3', [p.dbPath, `PRAGMA writable_schema = ON; ${GHOST}; PRAGMA writable_schema = OFF;`]);
    const sql = `CREATE TABLE kv2 (k TEXT PRIMARY KEY, v); INSERT INTO kv2 SELECT * FROM kv; DROP TABLE kv; ALTER TABLE kv2 RENAME TO kv;
                 UPDATE kv SET v = 9 WHERE k = 'a'; INSERT INTO notes_fts VALUES ('three'); UPDATE users SET balance = 0 WHERE id = 1;`;
    const run = await runCli(['--', 'sqlite3', p.dbPath, sql], { cwd: p.dir });
    expect(run.code).toBe(0);
    expect(run.stderr).not.toMatch(/could not compare/);
    expect(run.stderr).toMatch(/app: ghost \(not compared: no such module: nosuchmodule\) · kv ~1 · notes_fts \+1 · users ~1/);
    const out = await runCli(['diff', 'last', '--json'], { cwd: p.dir });
    expect(out.code).toBe(0);
    expect(JSON.parse(out.stdout).diffs[0].tables.map((t: TableDiff) => t.name)).toEqual(['ghost', 'kv', 'notes_fts', 'users']);
    const text = await runCli(['diff', 'last'], { cwd: p.dir });
    expect(text.stdout).toMatch(/ghost\s+—\s+—\s+—\s+—\s+—/);
    expect(text.stdout).toMatch(/ghost: not compared: no such module: nosuchmodule/);
  });
});
