// Restores in the awkward states real databases are found in: busy readers, a deleted file with its -wal left.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { integrityOf, ROOT, rowsOf, runCli, tempProject } from './helpers/cli.js';
import { holdOpen } from './helpers/system.js';

const projects: Array<{ cleanup: () => void }> = [];
afterEach(() => projects.splice(0).forEach((p) => p.cleanup()));

const sqlite = path.join(ROOT, 'node_modules', 'better-sqlite3');

describe('a restore', () => {
  it('waits for a reader holding the database (rollback journal) and really restores, through the backup API', async () => {
    const p = tempProject('safe-run-busy-', { wal: false, rows: 100 });
    projects.push(p);
    const before = rowsOf(p.dbPath);
    expect((await runCli(['--', 'sqlite3', p.dbPath, 'DELETE FROM users WHERE id > 10'], { cwd: p.dir })).code).toBe(0);
    // A reader keeps a read transaction open for 1.5 s (its shared lock stops any writer), then ends it
    // and keeps the connection open.
    const h = holdOpen(p.dbPath, `db.exec('BEGIN');db.prepare('SELECT count(*) FROM users').get();console.log('ready');setTimeout(()=>{db.exec('COMMIT');},1500);setTimeout(()=>{},4000);`);
    await h.ready;
    const rb = await runCli(['rollback', 'last', '--yes'], { cwd: p.dir });
    expect(rb.code, rb.stderr).toBe(0);
    expect(rb.stderr).toMatch(/backup API/);
    expect(rowsOf(p.dbPath)).toEqual(before);
    expect(integrityOf(p.dbPath)).toBe('ok');
    h.child.kill();
    await h.done;
  });

  it('does not replay the -wal of a deleted database onto the restored file', async () => {
    const p = tempProject('safe-run-orphan-wal-', { wal: true, rows: 50 });
    projects.push(p);
    const before = rowsOf(p.dbPath);
    // The "script": rewrites every row in WAL mode, is killed before any checkpoint, then the file is deleted.
    const script = `D=require(${JSON.stringify(sqlite)});db=new D(${JSON.stringify(p.dbPath)});db.pragma('wal_autocheckpoint=0');db.exec("UPDATE users SET name='CLOBBERED'");process.kill(process.pid,'SIGKILL')`;
    await runCli(['--', 'sh', '-c', `node -e "${script.replace(/"/g, '\\"')}"; rm '${p.dbPath}'`], { cwd: p.dir });
    expect(existsSync(p.dbPath)).toBe(false);
    expect(existsSync(`${p.dbPath}-wal`)).toBe(true);
    const rb = await runCli(['rollback', 'last', '--yes'], { cwd: p.dir });
    expect(rb.code, rb.stderr).toBe(0);
    expect(rowsOf(p.dbPath)).toEqual(before);
    expect(integrityOf(p.dbPath)).toBe('ok');
  });

  it('refuses, with the live database unchanged, when the backup API cannot get in before --wait runs out', async () => {
    const p = tempProject('safe-run-busy-long-', { wal: false, rows: 30 });
    projects.push(p);
    expect((await runCli(['--', 'sqlite3', p.dbPath, 'DELETE FROM users WHERE id > 10'], { cwd: p.dir })).code).toBe(0);
    const now = rowsOf(p.dbPath);
    const h = holdOpen(p.dbPath, `db.exec('BEGIN');db.prepare('SELECT count(*) FROM users').get();console.log('ready');setTimeout(()=>{},20000);`);
    await h.ready;
    const rb = await runCli(['rollback', 'last', '--yes', '--wait', '2'], { cwd: p.dir });
    h.child.kill();
    await h.done;
    expect(rb.code).toBe(4);
    expect(rb.stderr).toMatch(/busy/);
    expect(rowsOf(p.dbPath)).toEqual(now);
  });
});

