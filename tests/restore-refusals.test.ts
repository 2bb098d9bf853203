// A restore that cannot go ahead says why (no space, permissions, busy, a page-size change) and what to
// do; only a backup that really is damaged is blamed. Missing directories are simply created again.
import { afterEach, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { rowsOf, runCli, tempProject } from './helpers/cli.js';
import { fillUntil, holdOpen, mountTmpfs, runAsNobody, sha256Of, unmountAll } from './helpers/system.js';

const cleanups: Array<() => void> = [];
afterEach(() => {
  unmountAll();
  cleanups.splice(0).forEach((f) => f());
});

function project(opts: { wal?: boolean; rows?: number } = {}) {
  const p = tempProject('safe-run-refusal-', opts);
  cleanups.push(p.cleanup);
  return p;
}

const DELETE_ROWS = (file: string) => ['--', 'sqlite3', file, 'DELETE FROM users WHERE id > 10'];

/** What a user checks after a refused restore: exit 4, the database as it was, and no blame on the backup. */
function expectRefusedNotBlamingBackup(rb: { code: number | null; stderr: string }, dbPath: string, sum: string): void {
  expect(rb.code, rb.stderr).toBe(4);
  expect(rb.stderr).not.toMatch(/refusing to restore backup|pick another backup/);
  expect(rb.stderr).toMatch(/nothing was changed/);
  expect(sha256Of(dbPath)).toBe(sum);
}

describe('a restore that cannot go ahead', () => {
  it('says there is no space beside the database, and how much to free', async () => {
    const p = project({ wal: false, rows: 20_000 });
    const data = path.dirname(p.dbPath);
    const bytes = readFileSync(p.dbPath);
    mountTmpfs(data, '4m');
    writeFileSync(p.dbPath, bytes);
    expect((await runCli(DELETE_ROWS(p.dbPath), { cwd: p.dir })).code).toBe(0);
    fillUntil(data, bytes.length / 2);
    const sum = sha256Of(p.dbPath);
    const rb = await runCli(['rollback', 'last', '--yes'], { cwd: p.dir });
    expectRefusedNotBlamingBackup(rb, p.dbPath, sum);
    expect(rb.stderr).toMatch(new RegExp(`no space left on the device for the verified copy .* in ${data}`));
    expect(rb.stderr).toMatch(/free at least .* KB in /);
  });

  it('says there is no space in the store for the safety backup', async () => {
    const p = project({ wal: false, rows: 20_000 });
    const store = path.join(p.dir, 'backups');
    mountTmpfs(store, '4m');
    expect((await runCli(DELETE_ROWS(p.dbPath), { cwd: p.dir })).code).toBe(0);
    fillUntil(store, statSync(p.dbPath).size / 2);
    const sum = sha256Of(p.dbPath);
    const rb = await runCli(['rollback', 'last', '--yes'], { cwd: p.dir });
    expectRefusedNotBlamingBackup(rb, p.dbPath, sum);
    expect(rb.stderr).toMatch(/no space left on the device for the safety backup of app .* in the store/);
    expect(rb.stderr).toMatch(/"backupDir"/);
  });

  it('says which directory it may not write to, when run as a user who cannot', async () => {
    const p = project({ wal: false });
    execFileSync('chown', ['-R', 'nobody:nogroup', p.dir]);
    expect((await runAsNobody(DELETE_ROWS(p.dbPath), p.dir)).code).toBe(0);
    const data = path.dirname(p.dbPath);
    chownSync(data, 0, 0);
    chmodSync(data, 0o755);
    const sum = sha256Of(p.dbPath);
    const rb = await runAsNobody(['rollback', 'last', '--yes'], p.dir);
    expectRefusedNotBlamingBackup(rb, p.dbPath, sum);
    expect(rb.stderr).toMatch(new RegExp(`permission denied .* in ${data}`));
    expect(rb.stderr).toMatch(/writable for this user/);
  });

  it('says the database is busy when a writer keeps it locked', { timeout: 60_000 }, async () => {
    const p = project({ wal: false });
    expect((await runCli(DELETE_ROWS(p.dbPath), { cwd: p.dir })).code).toBe(0);
    const sum = sha256Of(p.dbPath);
    const h = holdOpen(p.dbPath, `db.exec('BEGIN EXCLUSIVE');console.log('ready');setTimeout(()=>{},30000);`);
    await h.ready;
    const rb = await runCli(['rollback', 'last', '--yes', '--wait', '2'], { cwd: p.dir });
    h.child.kill();
    await h.done;
    expectRefusedNotBlamingBackup(rb, p.dbPath, sum);
    expect(rb.stderr).toMatch(/the database is busy/);
  });

  it('says SQLite cannot change the page size of an open WAL database, and to stop what holds it', async () => {
    const p = project({ wal: true, rows: 200 });
    const pageSize = "PRAGMA journal_mode=DELETE; PRAGMA page_size=8192; VACUUM; PRAGMA journal_mode=WAL;";
    expect((await runCli(['--', 'sqlite3', p.dbPath, pageSize], { cwd: p.dir })).code).toBe(0);
    const now = rowsOf(p.dbPath);
    const h = holdOpen(p.dbPath, `db.prepare('SELECT count(*) FROM users').get();console.log('ready');setTimeout(()=>{},30000);`);
    await h.ready;
    const rb = await runCli(['rollback', 'last', '--yes'], { cwd: p.dir });
    h.child.kill();
    await h.done;
    expect(rb.code, rb.stderr).toBe(4);
    expect(rb.stderr).toMatch(/cannot change the page size of a WAL database/);
    expect(rb.stderr).toMatch(/stop the processes that hold it open/);
    expect(rb.stderr).not.toMatch(/read-only/);
    expect(rowsOf(p.dbPath)).toEqual(now);
  });
});

describe('a restore', () => {
  it('creates the data directory again when the script deleted it', async () => {
    const p = project();
    const before = rowsOf(p.dbPath);
    expect((await runCli(['--', 'rm', '-rf', 'data'], { cwd: p.dir })).code).toBe(0);
    const rb = await runCli(['rollback', 'last', '--yes'], { cwd: p.dir });
    expect(rb.code, rb.stderr).toBe(0);
    expect(rowsOf(p.dbPath)).toEqual(before);
  });

  it('--into a new file promises no safety backup', async () => {
    const p = project();
    const list = JSON.parse((await runCli(['backup', '--json'], { cwd: p.dir })).stdout) as Array<{ id: string }> | { id: string };
    const id = Array.isArray(list) ? list[0]!.id : list.id;
    const rb = await runCli(['restore', id, '--into', 'data/new.db', '--yes'], { cwd: p.dir });
    expect(rb.code, rb.stderr).toBe(0);
    expect(rb.stderr).not.toMatch(/safety backup .* is taken first/);
    expect(rb.stderr).toMatch(/no safety backup of app: there is no database at data\/new\.db/);
  });

  it('shows the first real complaint of a failed integrity check, not its "*** in database main ***" heading', async () => {
    const p = project({ wal: false, rows: 2000 });
    expect((await runCli(DELETE_ROWS(p.dbPath), { cwd: p.dir })).code).toBe(0);
    const [b] = JSON.parse((await runCli(['list', '--json'], { cwd: p.dir })).stdout) as Array<{ path: string; sha256: string }>;
    // One page more than the b-trees use: a check complaint ("Page N: never used") under that heading.
    const file = readFileSync(b!.path);
    const pageSize = file.readUInt16BE(16);
    const grown = Buffer.concat([file, Buffer.alloc(pageSize)]);
    grown.writeUInt32BE(grown.length / pageSize, 28);
    writeFileSync(b!.path, grown);
    const sum = sha256Of(b!.path);
    // Keep the recorded checksums in step (manifest and log), so that only the check can refuse it.
    for (const f of [path.join(path.dirname(b!.path), 'manifest.json'), path.join(p.dir, 'logs', 'operations.json')]) {
      writeFileSync(f, readFileSync(f, 'utf8').replaceAll(b!.sha256, sum));
    }
    const rb = await runCli(['rollback', 'last', '--yes'], { cwd: p.dir });
    expect(rb.code, rb.stderr).toBe(4);
    expect(rb.stderr).toMatch(/fails the integrity check \(Page \d+: never used/);
  });
});
