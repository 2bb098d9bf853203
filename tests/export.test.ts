// safe-run export through the real CLI: CSVs that read back exactly (NULL vs '', blobs, odd names), --zip,
// and the refusals (an existing place, a backup file replaced by a link, a full disk) that leave nothing.
import Database from 'better-sqlite3';
import { parse } from 'csv-parse/sync';
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runCli, tempProject } from './helpers/cli.js';
import { mountTmpfs, unmountAll } from './helpers/system.js';

const projects: Array<{ cleanup: () => void }> = [];
afterEach(() => {
  unmountAll();
  projects.splice(0).forEach((p) => p.cleanup());
});

/** A project whose database holds what CSV gets wrong: quotes, commas, newlines, unicode, NULL vs '', blobs. */
function trickyProject() {
  const p = tempProject('safe-run-export-');
  projects.push(p);
  const db = new Database(p.dbPath);
  db.exec(`
    CREATE TABLE "odd ""name"", with spaces" (id INTEGER PRIMARY KEY, text TEXT, data BLOB, n REAL);
    CREATE TABLE kv (k TEXT PRIMARY KEY, v ANY) WITHOUT ROWID;
    CREATE TABLE "a/b" (x);
  `);
  const odd = db.prepare(`INSERT INTO "odd ""name"", with spaces" VALUES (?, ?, ?, ?)`);
  const texts = ['plain', '', null, 'a,b', 'say "hi"', 'line\nbreak', 'crlf\r\nend', ' lead and trail ', 'ünïcødé ✓ 漢字 🙂', '=1+2', '""', ','];
  texts.forEach((t, i) => odd.run(i + 1, t, i % 3 === 0 ? null : Buffer.from([0, i, 255, 10, 34, 44]), i / 7));
  odd.run(100, 'empty blob', Buffer.alloc(0), null);
  const kv = db.prepare('INSERT INTO kv VALUES (?, ?)');
  kv.run('big', 9007199254740993n);
  kv.run('neg', -42);
  kv.run('empty', '');
  kv.run('null', null);
  db.defaultSafeIntegers(true);
  db.close();
  return p;
}

/** The rows of a table as the export should write them: text as is, blobs base64, integers exact. */
function expectedRows(file: string, table: string): Array<Array<string | null>> {
  const db = new Database(file, { readonly: true });
  db.defaultSafeIntegers(true);
  const rows = db.prepare(`SELECT * FROM "${table.replaceAll('"', '""')}"`).raw(true).all() as unknown[][];
  db.close();
  return rows.map((r) => r.map((v) => (v === null ? null : Buffer.isBuffer(v) ? v.toString('base64') : String(v))));
}

/** Parse an exported CSV as a reader following README.txt would: unquoted empty = NULL. */
function readCsv(text: string): Array<Array<string | null>> {
  expect(text.startsWith('\uFEFF')).toBe(true);
  return parse(text, { bom: true, cast: (value, ctx) => (value === '' && !ctx.quoting ? null : value) }) as Array<Array<string | null>>;
}

async function backup(dir: string) {
  const run = await runCli(['backup', '--json'], { cwd: dir });
  expect(run.code, run.stderr).toBe(0);
  return (JSON.parse(run.stdout) as Array<{ id: string; path?: string }>)[0]!.id;
}

describe('safe-run export', () => {
  it('writes one CSV per table that parses back to exactly the rows of the database', async () => {
    const p = trickyProject();
    const id = await backup(p.dir);
    const run = await runCli(['export', id.slice(0, 6), '--out', 'out', '--json'], { cwd: p.dir });
    expect(run.code, run.stderr).toBe(0);
    const manifest = JSON.parse(readFileSync(path.join(p.dir, 'out', 'manifest.json'), 'utf8'));
    expect(JSON.parse(run.stdout).tables).toEqual(manifest.tables);
    expect(manifest.source.backupId).toBe(id);
    expect(manifest.tables.map((t: { name: string }) => t.name).sort()).toEqual(['a/b', 'kv', 'odd "name", with spaces', 'users'].sort());
    expect(manifest.schema.join('\n')).toContain('WITHOUT ROWID');
    for (const t of manifest.tables as Array<{ name: string; file: string; rows: number; sha256: string; columns: Array<{ name: string }> }>) {
      const file = path.join(p.dir, 'out', t.file);
      const [header, ...rows] = readCsv(readFileSync(file, 'utf8'));
      expect(header).toEqual(t.columns.map((c) => c.name));
      expect(rows, t.name).toEqual(expectedRows(p.dbPath, t.name));
      expect(rows.length).toBe(t.rows);
      expect(execFileSync('sha256sum', [file], { encoding: 'utf8' }).split(' ')[0]).toBe(t.sha256);
    }
    expect(readFileSync(path.join(p.dir, 'out', 'README.txt'), 'utf8')).toContain('NULL');
    expect(readdirSync(p.dir).filter((n) => n.startsWith('.'))).toEqual([]);
  });

  it('takes a database name for its newest backup, and writes one zip with --zip', async () => {
    const p = trickyProject();
    await backup(p.dir);
    const newest = await backup(p.dir);
    const run = await runCli(['export', 'app', '--zip'], { cwd: p.dir });
    expect(run.code, run.stderr).toBe(0);
    const zip = path.join(p.dir, `safe-run-export-${newest.slice(0, 8)}.zip`);
    expect(existsSync(zip)).toBe(true);
    const manifest = JSON.parse(execFileSync('unzip', ['-p', zip, 'manifest.json'], { encoding: 'utf8' }));
    expect(manifest.source.backupId).toBe(newest);
    const odd = manifest.tables.find((t: { name: string }) => t.name.startsWith('odd'));
    const csv = execFileSync('unzip', ['-p', zip, odd.file], { encoding: 'utf8' });
    expect(readCsv(csv).slice(1)).toEqual(expectedRows(p.dbPath, odd.name));
    expect(readdirSync(p.dir).filter((n) => n.startsWith('.'))).toEqual([]);
  });

  it('refuses to overwrite an existing directory or file, and exits 2', async () => {
    const p = trickyProject();
    const id = await backup(p.dir);
    writeFileSync(path.join(p.dir, 'taken.zip'), 'mine');
    const dir = await runCli(['export', id, '--out', 'data'], { cwd: p.dir });
    expect(dir.code).toBe(2);
    expect(dir.stderr).toMatch(/already exists; an export never overwrites/);
    const zip = await runCli(['export', id, '--zip', '--out', 'taken.zip'], { cwd: p.dir });
    expect(zip.code).toBe(2);
    expect(readFileSync(path.join(p.dir, 'taken.zip'), 'utf8')).toBe('mine');
  });

  it('refuses a backup whose file was replaced by a symbolic link, exporting nothing', async () => {
    const p = trickyProject();
    const id = await backup(p.dir);
    const list = JSON.parse((await runCli(['list', '--json'], { cwd: p.dir })).stdout) as Array<{ id: string; path: string }>;
    const file = list.find((b) => b.id === id)!.path;
    rmSync(file);
    symlinkSync(p.dbPath, file);
    const run = await runCli(['export', id, '--out', 'out'], { cwd: p.dir });
    expect(run.code).toBe(9);
    expect(run.stderr).toMatch(/replaced by a symbolic link; nothing was exported/);
    expect(existsSync(path.join(p.dir, 'out'))).toBe(false);
  });

  it('fails on a full disk with exit 7 and leaves no partial export', async () => {
    const p = trickyProject();
    const db = new Database(p.dbPath);
    db.exec("CREATE TABLE bulk (t TEXT); WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i < 20000) INSERT INTO bulk SELECT printf('%.200c', 'x') || i FROM n;");
    db.close();
    const id = await backup(p.dir);
    const small = path.join(p.dir, 'small');
    mountTmpfs(small, '1m');
    const run = await runCli(['export', id, '--out', 'small/out'], { cwd: p.dir });
    expect(run.code, run.stderr).toBe(9);
    expect(run.stderr).toMatch(/no space left on the device; nothing was left there/);
    expect(readdirSync(small)).toEqual([]);
  });

  it('says that a backup whose manifest does not parse cannot be exported, and exits 6', async () => {
    const p = trickyProject();
    const id = await backup(p.dir);
    const list = JSON.parse((await runCli(['list', '--json'], { cwd: p.dir })).stdout) as Array<{ id: string; path: string }>;
    const manifestFile = path.join(path.dirname(list.find((b) => b.id === id)!.path), 'manifest.json');
    writeFileSync(manifestFile, '{ "format": 1, "id": ');
    const run = await runCli(['export', id.slice(0, 6), '--out', 'out'], { cwd: p.dir });
    expect(run.code).toBe(6);
    expect(run.stderr).toMatch(/cannot be exported: its manifest .* does not parse/);
    expect(readFileSync(manifestFile, 'utf8')).toBe('{ "format": 1, "id": ');
    expect(existsSync(path.join(p.dir, 'out'))).toBe(false);
  });

  it('says in one line that a PostgreSQL backup cannot be exported yet', async () => {
    const p = trickyProject();
    const id = await backup(p.dir);
    const list = JSON.parse((await runCli(['list', '--json'], { cwd: p.dir })).stdout) as Array<{ id: string; path: string }>;
    // A manifest that names another engine, as a PostgreSQL backup's does: the check is the engine's.
    const manifestFile = path.join(path.dirname(list.find((b) => b.id === id)!.path), 'manifest.json');
    const m = JSON.parse(readFileSync(manifestFile, 'utf8'));
    writeFileSync(manifestFile, JSON.stringify({ ...m, engine: 'postgres', source: 'postgresql://127.0.0.1:5432/none' }));
    const run = await runCli(['export', id], { cwd: p.dir });
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/cannot export postgres backups yet/);
  });
});
