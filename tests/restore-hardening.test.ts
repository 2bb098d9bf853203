// A restore writes only where the run guarded: not through a link made since, not into another name of
// the file, not where a tampered manifest points.
import { afterEach, describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import { existsSync, linkSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { makeSampleDb, rowsOf, runCli, tempProject } from './helpers/cli.js';
import { sha256Of } from './helpers/system.js';

const cleanups: Array<() => void> = [];
afterEach(() => cleanups.splice(0).forEach((f) => f()));

function project(opts: { wal?: boolean; rows?: number } = {}) {
  const p = tempProject('safe-run-hardening-', opts);
  cleanups.push(p.cleanup);
  return p;
}

/** Another database outside the project: what a planted link points at. */
function elsewhereDb(): { dir: string; file: string } {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'safe-run-elsewhere-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'prod.db');
  makeSampleDb(file, { rows: 7 });
  return { dir, file };
}

describe('a symbolic link put at the database path after the backup', () => {
  it('is replaced by the restored file; the database it points at is not touched, not even by a lock file', async () => {
    const p = project();
    const prod = elsewhereDb();
    const prodSum = sha256Of(prod.file);
    const before = rowsOf(p.dbPath);
    const run = await runCli(['--', 'sh', '-c', `rm data/app.db; ln -s '${prod.file}' data/app.db`], { cwd: p.dir });
    expect(run.code, run.stderr).toBe(0);
    expect(lstatSync(p.dbPath).isSymbolicLink()).toBe(true);

    const rb = await runCli(['rollback', 'last', '--yes'], { cwd: p.dir });
    expect(rb.code, rb.stderr).toBe(0);
    expect(sha256Of(prod.file)).toBe(prodSum);
    expect(readdirSync(prod.dir)).toEqual(['prod.db']);
    expect(lstatSync(p.dbPath).isFile()).toBe(true);
    expect(rowsOf(p.dbPath)).toEqual(before);
    expect(rb.stderr).toMatch(/symbolic link to .*prod\.db.*replaced/);
  });

  it('in place of the data directory makes the restore refuse, naming the link and the fix', async () => {
    const p = project();
    const prod = elsewhereDb();
    writeFileSync(path.join(prod.dir, 'app.db'), readFileSync(prod.file));
    const sums = [sha256Of(prod.file), sha256Of(path.join(prod.dir, 'app.db'))];
    const run = await runCli(['--', 'sh', '-c', `rm -rf data; ln -s '${prod.dir}' data`], { cwd: p.dir });
    expect(run.code, run.stderr).toBe(0);

    const rb = await runCli(['rollback', 'last', '--yes'], { cwd: p.dir });
    expect(rb.code, rb.stderr).toBe(4);
    expect(rb.stderr).toMatch(/data is now a symbolic link/);
    expect(rb.stderr).toMatch(/remove the link/);
    expect([sha256Of(prod.file), sha256Of(path.join(prod.dir, 'app.db'))]).toEqual(sums);
    expect(readdirSync(prod.dir).sort()).toEqual(['app.db', 'prod.db']);
  });
});

describe('a database file with a second name (a hard link)', () => {
  it('is kept by a copy: writes through the other name change neither the safety backup nor its mode', async () => {
    const p = project({ wal: false });
    const alias = path.join(p.dir, 'other', 'alias.db');
    mkdirSync(path.dirname(alias));
    linkSync(p.dbPath, alias);
    const before = rowsOf(p.dbPath);
    expect((await runCli(['--', 'sqlite3', p.dbPath, 'DELETE FROM users WHERE id > 10'], { cwd: p.dir })).code).toBe(0);
    const afterRun = rowsOf(p.dbPath);
    const aliasMode = statSync(alias).mode & 0o777;

    const rb = await runCli(['rollback', 'last', '--yes'], { cwd: p.dir });
    expect(rb.code, rb.stderr).toBe(0);
    expect(rowsOf(p.dbPath)).toEqual(before);
    expect(statSync(alias).mode & 0o777).toBe(aliasMode);

    const db = new Database(alias);
    db.exec("UPDATE users SET name = 'written through the other name'");
    db.close();
    const undo = await runCli(['rollback', 'last', '--yes'], { cwd: p.dir });
    expect(undo.code, undo.stderr).toBe(0);
    expect(rowsOf(p.dbPath)).toEqual(afterRun);
  });
});

describe('a backup whose manifest names another database than the run logged', () => {
  it('is refused as damaged, and neither database is touched', async () => {
    const p = project();
    expect((await runCli(['--', 'sqlite3', p.dbPath, 'DELETE FROM users WHERE id > 10'], { cwd: p.dir })).code).toBe(0);
    const appSum = sha256Of(p.dbPath);
    const list = JSON.parse((await runCli(['list', '--json'], { cwd: p.dir })).stdout) as Array<{ id: string; path: string }>;
    const manifestFile = path.join(path.dirname(list[0]!.path), 'manifest.json');
    const other = path.join(p.dir, 'data', 'other.db');
    const manifest = JSON.parse(readFileSync(manifestFile, 'utf8'));
    writeFileSync(manifestFile, JSON.stringify({ ...manifest, source: other }));

    const rb = await runCli(['rollback', 'last', '--yes'], { cwd: p.dir });
    expect(rb.code, rb.stderr).toBe(4);
    expect(rb.stderr).toMatch(/damaged/);
    expect(existsSync(other)).toBe(false);
    expect(sha256Of(p.dbPath)).toBe(appSum);
    const restore = await runCli(['restore', list[0]!.id, '--yes'], { cwd: p.dir });
    expect(restore.code, restore.stderr).toBe(4);
    expect(existsSync(other)).toBe(false);
  });
});
