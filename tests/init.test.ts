// safe-run init through the real CLI: the config it writes, .gitignore, and refusing to overwrite.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { makeSampleDb, runCli } from './helpers/cli.js';
import { listOf } from './helpers/store.js';

const dirs: string[] = [];
afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));

function emptyProject(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'safe-run-init-'));
  dirs.push(dir);
  return dir;
}

describe('safe-run init', () => {
  it('finds the SQLite files of the project, writes a config with retention, and the next run uses it', async () => {
    const dir = emptyProject();
    mkdirSync(path.join(dir, 'data'));
    mkdirSync(path.join(dir, 'node_modules', 'pkg'), { recursive: true });
    makeSampleDb(path.join(dir, 'data', 'app.db'));
    makeSampleDb(path.join(dir, 'data', 'cache.sqlite3'));
    writeFileSync(path.join(dir, 'node_modules', 'pkg', 'fixture.db'), '');
    const r = await runCli(['init'], { cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    const config = JSON.parse(readFileSync(path.join(dir, 'safe-run.config.json'), 'utf8'));
    expect(config.databases).toEqual([
      { name: 'app', url: 'data/app.db' },
      { name: 'cache', url: 'data/cache.sqlite3' },
    ]);
    expect(config.retention).toEqual({ keepLast: 10, keepDaily: 7, keepWeekly: 4, auto: true });
    expect(r.stderr).toMatch(/next\s+safe-run -- <your script>/);
    const run = await runCli(['--', 'true'], { cwd: dir });
    expect(run.code, run.stderr).toBe(0);
    expect((await listOf(dir)).map((b) => b.database).sort()).toEqual(['app', 'cache']);
  });

  it('takes --db, and adds only the missing .gitignore lines', async () => {
    const dir = emptyProject();
    writeFileSync(path.join(dir, '.gitignore'), 'node_modules/\n/backups/');
    const r = await runCli(['init', '--db', 'var/shop.db'], { cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(readFileSync(path.join(dir, 'safe-run.config.json'), 'utf8')).databases).toEqual([{ name: 'shop', url: 'var/shop.db' }]);
    const ignore = readFileSync(path.join(dir, '.gitignore'), 'utf8').split('\n');
    expect(ignore.filter((l) => l === '/backups/')).toHaveLength(1);
    for (const line of ['/logs/', '*.safe-run-lock', '*.safe-run-lock.json', 'node_modules/']) expect(ignore).toContain(line);
  });

  it('refuses to overwrite a config, exiting 2 with the file untouched', async () => {
    const dir = emptyProject();
    writeFileSync(path.join(dir, 'safe-run.config.json'), '{"databases": []}\n');
    const r = await runCli(['init', '--db', 'x.db'], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/a config exists already/);
    expect(readFileSync(path.join(dir, 'safe-run.config.json'), 'utf8')).toBe('{"databases": []}\n');
  });
});
