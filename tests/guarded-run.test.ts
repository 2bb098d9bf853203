import { afterEach, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { integrityOf, rollbackLine, rowsOf, runCli, tempProject } from './helpers/cli.js';
import { createHash } from 'node:crypto';

const projects: Array<{ cleanup: () => void }> = [];
afterEach(() => projects.splice(0).forEach((p) => p.cleanup()));

describe('a guarded run', () => {
  it('brings deleted rows back with the printed rollback command', async () => {
    const p = tempProject();
    projects.push(p);
    const before = rowsOf(p.dbPath);
    const run = await runCli(['--', 'sqlite3', p.dbPath, 'DELETE FROM users WHERE id % 2 = 0'], { cwd: p.dir });
    expect(run.code).toBe(0);
    expect(rowsOf(p.dbPath)).toHaveLength(50);

    const undo = rollbackLine(run.stderr);
    expect(undo).toBe(`safe-run -C ${p.dir} rollback ${/[0-9a-f]{12}$/.exec(undo)![0]}`);
    const rb = await runCli([...undo.split(' ').slice(1), '--yes'], { cwd: p.dir });
    expect(rb.stderr).toContain('restored');
    expect(rb.code).toBe(0);
    expect(rowsOf(p.dbPath)).toEqual(before);
    expect(integrityOf(p.dbPath)).toBe('ok');

    const log = JSON.parse((await runCli(['log', '--json'], { cwd: p.dir })).stdout);
    const entry = log.find((r: { argv: string[] }) => r.argv[0] === 'sqlite3');
    expect(entry.exitCode).toBe(0);
    expect(entry.backups).toHaveLength(1);
    const sha = createHash('sha256').update(readFileSync(entry.backups[0].path)).digest('hex');
    expect(entry.backups[0].sha256).toBe(sha);
    expect(existsSync(path.join(p.dir, 'logs', 'operations.json'))).toBe(true);
  });

  it('backs up a database named twice (by name and by path) once, instead of waiting for its own lock', async () => {
    const p = tempProject();
    projects.push(p);
    const run = await runCli(['--db', 'app', '--db', p.dbPath, '--wait', '5', '--', 'true'], { cwd: p.dir });
    expect(run.stderr).not.toMatch(/locked/);
    expect(run.code).toBe(0);
    const [entry] = JSON.parse((await runCli(['log', '--json'], { cwd: p.dir })).stdout);
    expect(entry.backups).toHaveLength(1);
  });

  it('finds its config under a "safe-run" key of package.json, from a subdirectory, with paths relative to it', async () => {
    const p = tempProject();
    projects.push(p);
    rmSync(path.join(p.dir, 'safe-run.config.json'));
    writeFileSync(
      path.join(p.dir, 'package.json'),
      JSON.stringify({ name: 'app', 'safe-run': { databases: [{ name: 'main', url: 'data/app.db' }], backupDir: 'var/backups' } }),
    );
    mkdirSync(path.join(p.dir, 'scripts', 'deep'), { recursive: true });
    const run = await runCli(['--', 'true'], { cwd: path.join(p.dir, 'scripts', 'deep') });
    expect(run.code, run.stderr).toBe(0);
    const [backup] = JSON.parse((await runCli(['list', '--json'], { cwd: p.dir })).stdout);
    expect(backup).toMatchObject({ database: 'main', source: p.dbPath });
    expect(backup.path.startsWith(path.join(p.dir, 'var', 'backups') + path.sep)).toBe(true);
  });
});
