// Compressed backups ("compress" in the config) through the real CLI: stored compressed, verified by show,
// rolled back exactly; a damaged compressed file is refused with the live database untouched.
import Database from 'better-sqlite3';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { rollbackLine, rowsOf, runCli, tempProject } from './helpers/cli.js';
import { sha256Of } from './helpers/system.js';

const projects: Array<{ cleanup: () => void }> = [];
afterEach(() => projects.splice(0).forEach((p) => p.cleanup()));

function project(compress: unknown) {
  const p = tempProject('safe-run-compress-', { rows: 500 });
  projects.push(p);
  writeFileSync(path.join(p.dir, 'safe-run.config.json'), JSON.stringify({ databases: [{ name: 'app', url: 'data/app.db' }], compress }));
  return p;
}

async function listed(dir: string) {
  const run = await runCli(['list', '--json'], { cwd: dir });
  expect(run.code, run.stderr).toBe(0);
  return JSON.parse(run.stdout) as Array<{ id: string; path: string; sha256: string; size: number }>;
}

describe.each(['zstd', 'gzip'])('with "compress": "%s"', (how) => {
  it('stores the backup compressed, verifies it in show, and rolls back to exactly the rows it had', async () => {
    const p = project(how);
    const before = rowsOf(p.dbPath);
    const run = await runCli(['--', 'sqlite3', p.dbPath, "DELETE FROM users WHERE id > 10; UPDATE users SET name = 'x'"], { cwd: p.dir });
    expect(run.code, run.stderr).toBe(0);
    const [b] = await listed(p.dir);
    expect(b!.path).toMatch(how === 'zstd' ? /snapshot\.sqlite\.zst$/ : /snapshot\.sqlite\.gz$/);
    // The manifest's sha256 covers the stored bytes; the content's is recorded beside it.
    expect(sha256Of(b!.path)).toBe(b!.sha256);
    const manifest = JSON.parse(readFileSync(path.join(path.dirname(b!.path), 'manifest.json'), 'utf8'));
    expect(manifest.files[0].compression).toBe(how);
    expect(manifest.files[0].content.size).toBeGreaterThan(b!.size);
    const show = await runCli(['show', 'last'], { cwd: p.dir });
    expect(show.stdout).toMatch(/verified: sha256 matches, quick_check ok/);
    const verify = await runCli(['verify', b!.id], { cwd: p.dir });
    expect(verify.code, verify.stderr + verify.stdout).toBe(0);
    const diff = await runCli(['diff', 'last'], { cwd: p.dir });
    expect(diff.code, diff.stderr).toBe(0);
    expect(diff.stdout).toMatch(/users\s+500\s+10/);
    const exported = await runCli(['export', b!.id, '--out', 'ex', '--json'], { cwd: p.dir });
    expect(exported.code, exported.stderr).toBe(0);
    expect(JSON.parse(exported.stdout).tables.find((t: { name: string }) => t.name === 'users').rows).toBe(500);
    const back = await runCli([...rollbackLine(run.stderr).split(' ').slice(1), '--yes'], { cwd: p.dir });
    expect(back.code, back.stderr).toBe(0);
    expect(rowsOf(p.dbPath)).toEqual(before);
  });
});

describe('compressed backups under faults', () => {
  it('refuses to restore a compressed backup with one flipped byte, and leaves the live database untouched', async () => {
    const p = project('zstd');
    const backup = await runCli(['backup', '--json'], { cwd: p.dir });
    expect(backup.code, backup.stderr).toBe(0);
    const [b] = await listed(p.dir);
    const bytes = readFileSync(b!.path);
    bytes[Math.floor(bytes.length / 2)]! ^= 0x01;
    writeFileSync(b!.path, bytes);
    const db = new Database(p.dbPath);
    db.exec("UPDATE users SET name = 'changed since'");
    db.close();
    const liveBefore = sha256Of(p.dbPath);
    const rowsBefore = rowsOf(p.dbPath);
    const restore = await runCli(['restore', b!.id, '--yes'], { cwd: p.dir });
    expect(restore.code).toBe(4);
    expect(restore.stderr).toMatch(/refusing to restore backup .*sha256 does not match/);
    expect(restore.stderr).toMatch(/the live database was not touched/);
    expect(sha256Of(p.dbPath)).toBe(liveBefore);
    expect(rowsOf(p.dbPath)).toEqual(rowsBefore);
    const show = await runCli(['list'], { cwd: p.dir });
    expect(show.code).toBe(0);
  });

  it('says what is missing when the zstd command is not installed, and takes no backup', async () => {
    const p = project('zstd');
    const run = await runCli(['backup'], { cwd: p.dir, env: { PATH: '/nonexistent' } });
    expect(run.code).toBe(3);
    expect(run.stderr).toMatch(/the zstd command is not installed/);
    expect(run.stderr).toMatch(/apt-get install zstd/);
    expect(await listed(p.dir)).toEqual([]);
  });

  it('rejects an unknown "compress" value in the config with exit 2', async () => {
    const p = project('lz4');
    const run = await runCli(['list'], { cwd: p.dir });
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/compress.*must be "zstd", "gzip" or false/);
  });
});
