// A backup that cannot be made or verified never starts the command: exit 125, a message that says so,
// the failed attempt in the log, and nothing half-written left in the store.
import { afterEach, describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, readdirSync, readFileSync, statfsSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { binForNobody, runCli, runProcess, tempProject, type CliResult } from './helpers/cli.js';

const projects: Array<{ cleanup: () => void }> = [];
const mounts: string[] = [];

afterEach(() => {
  for (const dir of mounts.splice(0).reverse()) {
    try {
      execFileSync('umount', [dir]);
    } catch {
      execFileSync('umount', ['-l', dir]);
    }
  }
  projects.splice(0).forEach((p) => p.cleanup());
});

function project(): ReturnType<typeof tempProject> {
  const p = tempProject('safe-run-backup-fail-');
  projects.push(p);
  return p;
}

function mountTmpfs(dir: string, options: string): void {
  mkdirSync(dir, { recursive: true });
  execFileSync('mount', ['-t', 'tmpfs', '-o', options, 'tmpfs', dir]);
  mounts.push(dir);
}

const GUARDED = ['--', 'sh', '-c', 'touch marker'];

/** Run the CLI as the unprivileged user nobody (root reads every file whatever its mode). */
function runAsNobody(args: string[], cwd: string): Promise<CliResult> {
  return runProcess('setpriv', ['--reuid=nobody', '--regid=nogroup', '--clear-groups', process.execPath, binForNobody(), ...args], { cwd });
}

function chownToNobody(file: string): void {
  execFileSync('chown', ['-R', 'nobody:nogroup', file]);
}

/** Regular files under `dir`, except the empty hidden ones the store keeps for itself. */
function strayFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const found: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (entry.isDirectory()) continue;
    const file = path.join(entry.parentPath ?? (entry as unknown as { path: string }).path, entry.name);
    const hiddenAndEmpty = entry.name.startsWith('.') && entry.isFile() && statSync(file).size === 0;
    if (!hiddenAndEmpty) found.push(file);
  }
  return found;
}

/**
 * What a user checks after a guarded run whose backup failed: 125, "not started", the command really
 * did not run, the attempt is in the log as aborted, and the store shows and holds no backup.
 * Soft assertions, so one test reports every way it falls short.
 */
async function expectCommandNotStarted(dir: string, run: CliResult): Promise<void> {
  expect.soft(run.code, run.stderr).toBe(125);
  expect.soft(run.stderr).toMatch(/the command was not started/);
  expect.soft(existsSync(path.join(dir, 'marker')), 'the command ran').toBe(false);

  const log = await runCli(['log', '--json'], { cwd: dir });
  expect.soft(log.code, log.stderr).toBe(0);
  const runs = log.code === 0 ? (JSON.parse(log.stdout) as Array<{ status: string; argv: string[]; error: string | null; backups: unknown[] }>) : [];
  const seen = runs.map((r) => ({ status: r.status, argv: r.argv, backups: r.backups.length, saysWhy: Boolean(r.error) }));
  expect.soft(seen, 'the log should hold the failed attempt').toEqual([{ status: 'aborted', argv: ['sh', '-c', 'touch marker'], backups: 0, saysWhy: true }]);

  const list = await runCli(['list', '--json'], { cwd: dir });
  expect.soft(list.code, list.stderr).toBe(0);
  expect.soft(list.code === 0 ? JSON.parse(list.stdout) : null).toEqual([]);
  expect.soft(strayFiles(path.join(dir, 'backups'))).toEqual([]);
}

describe('a guarded run whose backup fails', () => {
  it('does not start the command when the database is a text file', async () => {
    const p = project();
    writeFileSync(p.dbPath, 'these are my notes, not a database\n');
    const run = await runCli(GUARDED, { cwd: p.dir });
    await expectCommandNotStarted(p.dir, run);
    expect(run.stderr).toMatch(/not a database/);
    expect(readFileSync(p.dbPath, 'utf8')).toBe('these are my notes, not a database\n');
  });

  it('does not start the command, nor create the database, when the database path does not exist', async () => {
    const p = project();
    const missing = path.join(p.dir, 'data', 'typo.db');
    const run = await runCli(['--db', 'data/typo.db', ...GUARDED], { cwd: p.dir });
    await expectCommandNotStarted(p.dir, run);
    expect(run.stderr).toContain(missing);
    expect(run.stderr).toMatch(/no such database file/);
    expect(existsSync(missing)).toBe(false);
  });

  it('does not start the command when the database cannot be read, and says permission was denied', async () => {
    const p = project();
    chownToNobody(p.dir);
    chownSync(p.dbPath, 0, 0);
    chmodSync(p.dbPath, 0o600);
    const run = await runAsNobody(GUARDED, p.dir);
    await expectCommandNotStarted(p.dir, run);
    expect(run.stderr).toContain(p.dbPath);
    // What to do about it: the message must point at the permissions, not at --debug.
    expect(run.stderr).toMatch(/permission/i);
  });

  it('does not start the command when the backup directory is a read-only mount', async () => {
    const p = project();
    const backups = path.join(p.dir, 'backups');
    mountTmpfs(backups, 'size=1m,ro');
    const run = await runCli(GUARDED, { cwd: p.dir });
    await expectCommandNotStarted(p.dir, run);
    expect(run.stderr).toContain(backups);
    expect(run.stderr).toMatch(/read-only/);
  });

  it('names the read-only backup directory, not the database, when the read-only mount is already private', async () => {
    const p = project();
    const backups = path.join(p.dir, 'backups');
    mountTmpfs(backups, 'size=1m,ro,mode=0700');
    const run = await runCli(GUARDED, { cwd: p.dir });
    await expectCommandNotStarted(p.dir, run);
    expect(run.stderr).toContain(backups);
    expect(run.stderr).toMatch(/read-only/);
    expect(run.stderr).not.toMatch(/no such file/);
  });

  it('does not start the command when the backup directory belongs to someone else', async () => {
    const p = project();
    const backups = path.join(p.dir, 'backups');
    mkdirSync(backups);
    chownToNobody(p.dir);
    chownSync(backups, 0, 0);
    chmodSync(backups, 0o700);
    const run = await runAsNobody(GUARDED, p.dir);
    await expectCommandNotStarted(p.dir, run);
    expect(run.stderr).toContain(backups);
    expect(run.stderr).toMatch(/writable/);
  });

  it('does not start the command when the backup does not fit on the disk, and leaves the disk empty', async () => {
    const p = project();
    const db = new Database(p.dbPath);
    db.exec('CREATE TABLE attachments (id INTEGER PRIMARY KEY, body BLOB NOT NULL)');
    db.exec('WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 48) INSERT INTO attachments (body) SELECT randomblob(65536) FROM n');
    db.close();
    expect(statSync(p.dbPath).size).toBeGreaterThan(3 * 1024 * 1024);
    const backups = path.join(p.dir, 'backups');
    mountTmpfs(backups, 'size=1m,mode=0700');

    const run = await runCli(GUARDED, { cwd: p.dir });
    await expectCommandNotStarted(p.dir, run);
    expect(run.stderr).toMatch(/no space/i);
    expect(run.stderr).toContain(backups);
    const disk = statfsSync(backups);
    expect(disk.bfree, 'blocks still in use on the backup disk').toBe(disk.blocks);
  });
});
