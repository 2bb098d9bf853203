// DuckDB through the real CLI: round trips of rows and schema, the .wal a crashed run leaves, a file
// another process holds, diff, and which paths go to DuckDB. Real files in temp dirs, no mocks.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { makeSampleDb, runCli } from '../helpers/cli.js';
import { bank, BANK, contentsOf, holdOpen, query } from './duckdb-test-db.js';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** A project with one DuckDB database `shop` at data/shop.duckdb, made by `sql` in another process. */
function project(sql: string, url = 'data/shop.duckdb') {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'safe-run-duckdb-'));
  dirs.push(dir);
  const file = path.join(dir, url.replace(/^duckdb:/, ''));
  mkdirSync(path.dirname(file), { recursive: true });
  bank('sql', file, sql);
  writeFileSync(path.join(dir, 'safe-run.config.json'), JSON.stringify({ databases: [{ name: 'shop', url }] }));
  return { dir, file };
}

const RICH = `
  CREATE TYPE mood AS ENUM ('calm', 'busy');
  CREATE SEQUENCE order_ids START 100;
  CREATE TABLE customers (id INTEGER PRIMARY KEY, name VARCHAR COLLATE NOCASE NOT NULL UNIQUE, m mood);
  CREATE TABLE orders (id INTEGER PRIMARY KEY DEFAULT nextval('order_ids'), customer INTEGER REFERENCES customers (id),
                       price DOUBLE, wait INTERVAL, tag UNION(code INTEGER, label VARCHAR), data BLOB, items VARCHAR[]);
  CREATE TABLE notes (body VARCHAR);
  CREATE INDEX orders_price ON orders (price);
  CREATE VIEW big_orders AS SELECT * FROM orders WHERE price > 10;
  INSERT INTO customers VALUES (1, 'ada', 'calm'), (2, 'bob', 'busy'), (3, 'cy', NULL);
  INSERT INTO orders (customer, price, wait, tag, data, items) VALUES
    (1, '-0.0'::DOUBLE, INTERVAL '1 month', union_value(code := 7), '\\xAA\\x00'::BLOB, ['a', 'b']),
    (2, 12.5, INTERVAL '30 days', union_value(label := 'x'), NULL, []),
    (2, 0.1, NULL, NULL, '\\x01'::BLOB, NULL);
  INSERT INTO notes VALUES ('same'), ('same'), ('other');
`;

function lastRunBackups(listJson: string) {
  return JSON.parse(listJson) as Array<{ id: string; path: string; kind: string; engine: string; source: string }>;
}

describe('DuckDB through the CLI', () => {
  it('a rollback brings back rows and schema exactly: keys, foreign keys, sequences, enums, unions, intervals, indexes, views', async () => {
    const { dir, file } = project(RICH);
    const before = await contentsOf(file);
    const run = await runCli(
      ['--', process.execPath, BANK, 'sql', file,
        `UPDATE orders SET price = 0.0 WHERE price = 0 AND id = 100; UPDATE customers SET name = 'CY' WHERE id = 3;
         INSERT INTO orders (customer, price) VALUES (1, 3); DELETE FROM notes WHERE body = 'other';
         DROP VIEW big_orders; DROP INDEX orders_price; ALTER TABLE notes ADD COLUMN noted_at TIMESTAMP; CREATE TABLE extra (x INTEGER);`],
      { cwd: dir },
    );
    expect(run.code, run.stderr).toBe(0);
    expect(await contentsOf(file)).not.toEqual(before);
    const back = await runCli(['rollback', 'last', '--yes'], { cwd: dir });
    expect(back.code, back.stderr).toBe(0);
    expect(await contentsOf(file)).toEqual(before);
    // The sequence goes on where it stood at the backup (101 was taken by the rolled-back insert).
    bank('sql', file, `INSERT INTO orders (customer, price) VALUES (1, 1)`);
    expect(await query(file, 'SELECT max(id) FROM orders')).toEqual([[103]]);
    expect(existsSync(`${file}.wal`)).toBe(false);
  });

  it('a run killed with its commits only in the .wal is rolled back without replaying them, and the safety backup keeps them', async () => {
    const { dir, file } = project(RICH);
    const before = await contentsOf(file);
    const run = await runCli(['--', process.execPath, BANK, 'crash', file, `DELETE FROM orders WHERE id > 100; DELETE FROM notes`], { cwd: dir });
    expect(run.signal ?? run.code).not.toBe(0);
    expect(existsSync(`${file}.wal`), 'the killed run left its commits in the .wal').toBe(true);
    const back = await runCli(['rollback', 'last', '--yes'], { cwd: dir });
    expect(back.code, back.stderr).toBe(0);
    expect(existsSync(`${file}.wal`)).toBe(false);
    expect(await contentsOf(file)).toEqual(before);
    const safety = lastRunBackups((await runCli(['list', '--json'], { cwd: dir })).stdout).find((b) => b.kind === 'pre-restore')!;
    expect(await query(safety.path, 'SELECT (SELECT count(*) FROM orders), (SELECT count(*) FROM notes)')).toEqual([[1n, 0n]]);
    // The rollback of the rollback puts the crashed run's state back.
    const again = await runCli(['rollback', 'last', '--yes'], { cwd: dir });
    expect(again.code, again.stderr).toBe(0);
    expect(await query(file, 'SELECT count(*) FROM orders')).toEqual([[1n]]);
  });

  it('backs up a file whose .wal holds CREATE INDEX, which DuckDB cannot open read-only', async () => {
    const { dir, file } = project(RICH);
    spawnSync(process.execPath, [BANK, 'crash', file, `CREATE INDEX notes_body ON notes (body); INSERT INTO notes VALUES ('late')`]);
    expect(existsSync(`${file}.wal`)).toBe(true);
    const r = await runCli(['backup', '--json'], { cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    const [taken] = lastRunBackups(r.stdout);
    expect(await query(taken!.path, `SELECT count(*) FROM notes WHERE body = 'late'`)).toEqual([[1n]]);
    expect(await query(taken!.path, `SELECT index_name FROM duckdb_indexes() ORDER BY 1`)).toEqual([['notes_body'], ['orders_price']]);
    expect(existsSync(`${taken!.path}.wal`)).toBe(false);
  });

  it('a backup waits for a file another process holds, then fails in one line naming it', async () => {
    const { dir, file } = project(RICH);
    const holder = await holdOpen2(file);
    try {
      const started = Date.now();
      const r = await runCli(['backup', '--wait', '1'], { cwd: dir });
      expect(r.code, r.stderr).toBe(3);
      expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
      const errors = r.stderr.split('\n').filter((l) => l.startsWith('safe-run:'));
      expect(errors).toHaveLength(1);
      expect(errors[0]).toMatch(new RegExp(`held open by pid ${holder.pid} \\(.*duckdb-bank\\.mjs`));
    } finally {
      await holder.stop();
    }
    expect((await runCli(['backup', '--wait', '1'], { cwd: dir })).code).toBe(0);
  });

  it('a restore is refused while another process holds the file, naming it; nothing is changed', async () => {
    const { dir, file } = project(RICH);
    const taken = await runCli(['backup', '--json'], { cwd: dir });
    expect(taken.code, taken.stderr).toBe(0);
    const id = lastRunBackups(taken.stdout)[0]!.id;
    bank('sql', file, 'DELETE FROM notes');
    const holder = await holdOpen2(file);
    let r;
    try {
      r = await runCli(['restore', id, '--yes', '--wait', '1'], { cwd: dir });
    } finally {
      await holder.stop();
    }
    expect(r.code, r.stderr).toBe(4);
    expect(r.stderr).toContain(`pid ${holder.pid}`);
    expect(r.stderr).toMatch(/nothing was changed/);
    // As the holder left it: the restore's rows are not there, the holder's transfer is.
    expect(await query(file, 'SELECT (SELECT count(*) FROM notes), (SELECT count(*) FROM ticks)')).toEqual([[0n, 1n]]);
    const list = lastRunBackups((await runCli(['list', '--json'], { cwd: dir })).stdout);
    expect(list.map((b) => b.kind)).toEqual(['manual']);
    // Once it is closed, the same restore goes through.
    expect((await runCli(['restore', id, '--yes'], { cwd: dir })).code).toBe(0);
  });

  it('diff counts changes SQL = would hide, by primary key, and without one by content; and schema changes', async () => {
    const { dir, file } = project(RICH);
    const run = await runCli(
      ['--', process.execPath, BANK, 'sql', file,
        // DuckDB's own UPDATE keeps -0.0 when set to 0.0 (and 30 days when set to 1 month): replace the rows.
        `DELETE FROM orders WHERE id IN (100, 101);
         INSERT INTO orders VALUES (100, 1, 0.0, INTERVAL '1 month', union_value(code := 7), '\\xAA\\x00'::BLOB, ['a', 'b']),  -- -0.0 → 0.0
                                   (101, 2, 12.5, INTERVAL '1 month', union_value(label := 'x'), NULL, []);               -- 30 days → 1 month
         UPDATE customers SET name = 'CY' WHERE id = 3;             -- NOCASE: = calls them equal
         INSERT INTO orders (customer, price) VALUES (1, 5);
         DELETE FROM notes WHERE body = 'other'; INSERT INTO notes VALUES ('new'), ('same');
         ALTER TABLE notes ADD COLUMN email VARCHAR; CREATE INDEX orders_customer ON orders (customer); CREATE TABLE extra (x INTEGER);`],
      { cwd: dir },
    );
    expect(run.code, run.stderr).toBe(0);
    const r = await runCli(['diff', 'last', '--json'], { cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    const [d] = JSON.parse(r.stdout).diffs as Array<{ schema: Array<{ kind: string; name: string; change: string }>; tables: Array<Record<string, unknown>> }>;
    const table = (name: string) => d!.tables.find((t) => t.name === name)!;
    expect(table('orders')).toMatchObject({ status: 'changed', rowsBefore: 3, rowsAfter: 4, inserted: 1, deleted: 0, updated: 2, key: ['id'] });
    expect(table('customers')).toMatchObject({ status: 'changed', inserted: 0, deleted: 0, updated: 1 });
    expect(table('notes')).toMatchObject({ status: 'changed', rowsBefore: 3, rowsAfter: 4, inserted: 2, deleted: 1, key: [] });
    expect(table('extra')).toMatchObject({ status: 'added' });
    expect(d!.schema).toEqual(
      expect.arrayContaining([
        { kind: 'column', name: 'notes.email', change: 'added' },
        { kind: 'index', name: 'orders_customer', change: 'added' },
        { kind: 'table', name: 'extra', change: 'added' },
      ]),
    );
    const text = await runCli(['diff', 'last'], { cwd: dir });
    expect(text.stdout).toMatch(/orders\s+3\s+4\s+\+1\s+0\s+~2/);
  });

  it('a .duckdb path goes to DuckDB, and so does a duckdb: URL whatever the file is called; other paths stay SQLite', async () => {
    const { dir } = project(RICH, 'duckdb:data/shop.db');
    const r = await runCli(['backup', '--json'], { cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    const [viaUrl] = lastRunBackups(r.stdout);
    expect(viaUrl).toMatchObject({ engine: 'duckdb', source: path.join(dir, 'data', 'shop.db') });
    bank('sql', path.join(dir, 'data', 'other.duckdb'), 'CREATE TABLE t (x INTEGER)');
    const byPath = await runCli(['backup', '--db', 'data/other.duckdb', '--json'], { cwd: dir });
    expect(byPath.code, byPath.stderr).toBe(0);
    expect(lastRunBackups(byPath.stdout)[0]).toMatchObject({ engine: 'duckdb', database: 'other' });
    makeSampleDb(path.join(dir, 'data', 'plain.db'));
    const sqlite = await runCli(['backup', '--db', 'data/plain.db', '--json'], { cwd: dir });
    expect(sqlite.code, sqlite.stderr).toBe(0);
    expect(lastRunBackups(sqlite.stdout)[0]).toMatchObject({ engine: 'sqlite', database: 'plain' });
  });

  it('init names the .duckdb files it finds, and the next run backs them up as DuckDB', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'safe-run-duckdb-init-'));
    dirs.push(dir);
    mkdirSync(path.join(dir, 'data'));
    bank('sql', path.join(dir, 'data', 'warehouse.duckdb'), 'CREATE TABLE t (x INTEGER); INSERT INTO t VALUES (1)');
    makeSampleDb(path.join(dir, 'data', 'app.db'));
    const init = await runCli(['init'], { cwd: dir });
    expect(init.code, init.stderr).toBe(0);
    expect(JSON.parse(readFileSync(path.join(dir, 'safe-run.config.json'), 'utf8')).databases).toEqual([
      { name: 'app', url: 'data/app.db' },
      { name: 'warehouse', url: 'data/warehouse.duckdb' },
    ]);
    const r = await runCli(['backup', '--json'], { cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    expect(lastRunBackups(r.stdout).map((b) => `${b.database} ${b.engine}`).sort()).toEqual(['app sqlite', 'warehouse duckdb']);
  });
});

/** holdOpen, on a database that has no accounts table: the holder only needs to keep the file open. */
async function holdOpen2(file: string) {
  bank('sql', file, 'CREATE TABLE IF NOT EXISTS accounts (id INTEGER PRIMARY KEY, balance BIGINT); CREATE SEQUENCE IF NOT EXISTS tick_ids; CREATE TABLE IF NOT EXISTS ticks (id INTEGER PRIMARY KEY DEFAULT nextval(\'tick_ids\'), src INTEGER, dst INTEGER, amount INTEGER)');
  return holdOpen(file);
}
