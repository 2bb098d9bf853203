// safe-run doctor end to end: real SQLite databases corrupted the ways sqlite.org/howtocorrupt.html
// lists, found, moved aside into the store, and restored from the newest backup that verifies.
import Database from 'better-sqlite3';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, readdirSync, readFileSync, rmSync, truncateSync, writeFileSync, openSync, writeSync, closeSync, statSync } from 'node:fs';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { makeSampleDb, ROOT, rowsOf, runCli, tempProject } from './helpers/cli.js';
import { backupFileOf, flipStoredByte } from './helpers/store.js';
import { fillUntil, holdOpen, mountTmpfs, sha256Of, unmountAll } from './helpers/system.js';
import { Terminal } from './helpers/terminal.js';

const projects: Array<ReturnType<typeof tempProject>> = [];
afterAll(() => {
  unmountAll();
  projects.splice(0).forEach((p) => p.cleanup());
});
afterEach(() => Terminal.killAll());

const SQLITE = path.join(ROOT, 'node_modules', 'better-sqlite3');

interface DoctorJson {
  databases: Array<{
    database: string;
    state: string;
    problems: string[];
    backup: { id: string; createdAt: string } | null;
    restored: boolean;
    notRestored: string | null;
    restoreRunId: string | null;
    corruptedDir: string | null;
    setAside: string[];
    lost: { since: string; ms: number; runs: string[] } | null;
    skipped: Array<{ id: string; why: string }>;
  }>;
}

/** Insert rows in a child that is then killed: its -wal and -shm stay, with commits not yet checkpointed. */
function crashAfterWriting(file: string, rows: number, tag = 'late') {
  const code = `const D=require(${JSON.stringify(SQLITE)});const db=new D(${JSON.stringify(file)});db.pragma('wal_autocheckpoint=0');
    const ins=db.prepare('INSERT INTO users (name, balance) VALUES (?, 7)');for(let i=0;i<${rows};i++)ins.run('${tag} '+i);process.kill(process.pid,'SIGKILL');`;
  spawnSync(process.execPath, ['-e', code]);
  expect(statSync(`${file}-wal`).size).toBeGreaterThan(32);
}

/**
 * app with two manual backups (the second has 50 more rows) and a guarded run after them, whose changes
 * a restore of the newest backup (the run's own pre-run one) loses.
 */
async function damagedLater(opts: { config?: object } = {}) {
  const p = tempProject('safe-run-doctor-', { rows: 400 });
  projects.push(p);
  if (opts.config) writeFileSync(path.join(p.dir, 'safe-run.config.json'), JSON.stringify({ databases: [{ name: 'app', url: 'data/app.db' }], ...opts.config }));
  expect((await runCli(['backup', '--reason', 'older'], { cwd: p.dir })).code).toBe(0);
  makeSampleDb(p.dbPath, { rows: 50 });
  expect((await runCli(['backup', '--reason', 'newest'], { cwd: p.dir })).code).toBe(0);
  const run = await runCli(['--', process.execPath, '-e', `const D=require(${JSON.stringify(SQLITE)});new D(${JSON.stringify(p.dbPath)}).exec("UPDATE users SET balance = 0")`], { cwd: p.dir });
  expect(run.code, run.stderr).toBe(0);
  const listed = JSON.parse((await runCli(['list', '--json'], { cwd: p.dir })).stdout) as Array<{ id: string; path: string; reason: string; pages: unknown }>;
  const newest = listed[0]!; // the guarded run's pre-run backup
  const log = JSON.parse((await runCli(['log', '--json'], { cwd: p.dir })).stdout) as Array<{ id: string; kind: string; argv: string[]; reason: string | null; restored: unknown }>;
  return { ...p, newest, newerThanOldest: listed.filter((b) => b.reason !== 'older'), guardedRun: log.find((r) => r.kind === 'run')! };
}

async function doctor(dir: string, args: string[] = []) {
  const r = await runCli(['doctor', '--json', ...args], { cwd: dir });
  return { code: r.code, stderr: r.stderr, report: JSON.parse(r.stdout || 'null') as DoctorJson };
}

/** Write garbage over pages 2 to 4 of a database that has no -wal (closed cleanly). */
function overwritePages(file: string) {
  new Database(file).close(); // the last connection checkpoints and removes the -wal
  const fd = openSync(file, 'r+');
  const junk = Buffer.alloc(3 * 4096);
  for (let i = 0; i < junk.length; i++) junk[i] = (i * 7919) & 0xff;
  writeSync(fd, junk, 0, junk.length, 4096);
  closeSync(fd);
}

function filesIn(dir: string): string[] {
  return readdirSync(dir).sort();
}

describe('safe-run doctor', () => {
  it('says every database checks out and exits 0, also with a -wal and -shm left by a killed writer', async () => {
    const p = tempProject('safe-run-doctor-');
    projects.push(p);
    crashAfterWriting(p.dbPath, 20);
    const { code, report } = await doctor(p.dir);
    expect(code).toBe(0);
    expect(report.databases).toEqual([expect.objectContaining({ database: 'app', state: 'ok', problems: [], restored: false })]);
    expect(rowsOf(p.dbPath)).toHaveLength(120); // the -wal was kept and read, not lost
  });

  it('finds overwritten pages; without a terminal or --yes it changes nothing and exits 7', async () => {
    const p = await damagedLater();
    overwritePages(p.dbPath);
    const before = sha256Of(p.dbPath);
    const { code, report, stderr } = await doctor(p.dir);
    expect(code).toBe(7);
    expect(report.databases[0]).toMatchObject({ state: 'damaged', restored: false, notRestored: 'no terminal to confirm on', backup: { id: p.newest.id } });
    expect(report.databases[0]!.problems[0]).toMatch(/^integrity_check: /);
    expect(stderr).toMatch(/to restore it, run: safe-run -C .* doctor --db app --yes/);
    expect(sha256Of(p.dbPath)).toBe(before);
    expect(filesIn(path.join(p.dir, 'backups', 'app')).filter((n) => n.startsWith('corrupted-'))).toEqual([]);
  });

  it('with --yes moves the damaged file into the store, restores the newest good backup, reports the loss and logs it', async () => {
    const p = await damagedLater();
    overwritePages(p.dbPath);
    const damagedSha = sha256Of(p.dbPath);
    const { code, report, stderr } = await doctor(p.dir, ['--yes']);
    expect(code, stderr).toBe(0);
    const d = report.databases[0]!;
    expect(d).toMatchObject({ state: 'damaged', restored: true, backup: { id: p.newest.id } });
    expect(rowsOf(p.dbPath)).toEqual(rowsOf(await backupFileOf(p.dir, p.newest)));
    expect(rowsOf(p.dbPath)).toHaveLength(450);
    // The damaged file is kept, byte for byte, in the store.
    expect(path.dirname(d.corruptedDir!)).toBe(path.join(p.dir, 'backups', 'app'));
    expect(path.basename(d.corruptedDir!)).toMatch(/^corrupted-\d{4}-\d\d-\d\dT/);
    expect(sha256Of(path.join(d.corruptedDir!, 'app.db'))).toBe(damagedSha);
    // What was lost: the time since the backup and the guarded run made after it.
    expect(d.lost!.since).toBe(report.databases[0]!.backup!.createdAt);
    expect(d.lost!.runs).toEqual([p.guardedRun.id]);
    expect(stderr).toMatch(/runs logged since: 1/);
    // Logged as a restore whose reason says where the damaged files are.
    const log = JSON.parse((await runCli(['log', '--json'], { cwd: p.dir })).stdout) as Array<{ id: string; kind: string; argv: string[]; reason: string; status: string }>;
    const repair = log.find((r) => r.id === d.restoreRunId)!;
    expect(repair).toMatchObject({ kind: 'restore', status: 'succeeded', argv: ['doctor', '--db', 'app', '--yes'] });
    expect(repair.reason).toContain(d.corruptedDir!);
    expect((await runCli(['log'], { cwd: p.dir })).stdout).toContain('safe-run doctor --db app --yes');
    // The store stays clean for verify: the corrupted directory is neither a backup nor an orphan.
    const v = await runCli(['verify', '--json'], { cwd: p.dir });
    expect(v.code, v.stdout).toBe(0);
    expect((await doctor(p.dir)).code).toBe(0);
  });

  it('finds a truncated file', async () => {
    const p = await damagedLater();
    new Database(p.dbPath).close();
    truncateSync(p.dbPath, Math.floor(statSync(p.dbPath).size / 2));
    const { code, report } = await doctor(p.dir);
    expect(code).toBe(7);
    expect(report.databases[0]!.problems[0]).toMatch(/the file is truncated: its header says \d+ pages/);
    const fixed = await doctor(p.dir, ['--yes']);
    expect(fixed.code, fixed.stderr).toBe(0);
    expect(rowsOf(p.dbPath)).toEqual(rowsOf(await backupFileOf(p.dir, p.newest)));
  });

  it('finds a deleted -wal by what its -shm still says, and keeps the -shm with the database', async () => {
    const p = await damagedLater();
    crashAfterWriting(p.dbPath, 30);
    rmSync(`${p.dbPath}-wal`);
    const { code, report } = await doctor(p.dir);
    expect(code).toBe(7);
    expect(report.databases[0]!.problems[0]).toMatch(/the -wal is gone, but the -shm says it held \d+ committed page writes/);
    const again = await doctor(p.dir); // looking did not destroy the evidence
    expect(again.code).toBe(7);
    const fixed = await doctor(p.dir, ['--yes']);
    expect(fixed.code, fixed.stderr).toBe(0);
    expect(filesIn(fixed.report.databases[0]!.corruptedDir!)).toEqual(['app.db', 'app.db-shm']);
    expect(rowsOf(p.dbPath)).toEqual(rowsOf(await backupFileOf(p.dir, p.newest)));
  });

  it('finds a -wal that belongs to another database, and keeps both files in the store', async () => {
    const p = await damagedLater();
    crashAfterWriting(p.dbPath, 30);
    const other = path.join(p.dir, 'data', 'other.db');
    makeSampleDb(other, { rows: 400 });
    crashAfterWriting(other, 30, 'other');
    copyFileSync(`${other}-wal`, `${p.dbPath}-wal`);
    const wrongWal = sha256Of(`${p.dbPath}-wal`);
    const { code, report } = await doctor(p.dir);
    expect(code).toBe(7);
    expect(report.databases[0]!.problems[0]).toMatch(/the -wal is not the one this database was using/);
    const fixed = await doctor(p.dir, ['--yes']);
    expect(fixed.code, fixed.stderr).toBe(0);
    const kept = fixed.report.databases[0]!.corruptedDir!;
    expect(filesIn(kept)).toEqual(['app.db', 'app.db-shm', 'app.db-wal']);
    expect(sha256Of(path.join(kept, 'app.db-wal'))).toBe(wrongWal);
    expect(existsSync(`${p.dbPath}-wal`) && statSync(`${p.dbPath}-wal`).size > 0).toBe(false);
    expect(rowsOf(p.dbPath)).toEqual(rowsOf(await backupFileOf(p.dir, p.newest)));
  });

  it('restores without asking when the config sets autoRestore', async () => {
    const p = await damagedLater({ config: { autoRestore: true } });
    overwritePages(p.dbPath);
    const { code, report } = await doctor(p.dir);
    expect(code).toBe(0);
    expect(report.databases[0]!.restored).toBe(true);
    expect(rowsOf(p.dbPath)).toEqual(rowsOf(await backupFileOf(p.dir, p.newest)));
  });

  it('passes over newer backups that no longer verify and restores the newest one that does', async () => {
    const p = await damagedLater();
    for (const b of p.newerThanOldest) flipStoredByte(b, 6000); // a page backup: its own page list
    overwritePages(p.dbPath);
    const { code, report, stderr } = await doctor(p.dir, ['--yes']);
    expect(code, stderr).toBe(0);
    const d = report.databases[0]!;
    expect(d.skipped.map((s) => s.id)).toEqual(p.newerThanOldest.map((b) => b.id));
    expect(stderr).toMatch(/passed over backup [0-9a-f]{8}: sha256 differs/);
    expect(rowsOf(p.dbPath)).toHaveLength(400);
  });

  it('with no backup that verifies, changes nothing and exits 7', async () => {
    const p = tempProject('safe-run-doctor-');
    projects.push(p);
    overwritePages(p.dbPath);
    const before = sha256Of(p.dbPath);
    const { code, report } = await doctor(p.dir, ['--yes']);
    expect(code).toBe(7);
    expect(report.databases[0]).toMatchObject({ state: 'damaged', restored: false, notRestored: 'no backup of it verifies', backup: null });
    expect(sha256Of(p.dbPath)).toBe(before);
  });

  it('rejects a config whose autoRestore is not a boolean', async () => {
    const p = tempProject('safe-run-doctor-');
    projects.push(p);
    writeFileSync(path.join(p.dir, 'safe-run.config.json'), JSON.stringify({ databases: ['data/app.db'], autoRestore: 'yes' }));
    const r = await runCli(['doctor'], { cwd: p.dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/autoRestore must be true or false/);
  });

  it('on a terminal, asks for the database name: Enter changes nothing, the name restores', async () => {
    const p = await damagedLater();
    overwritePages(p.dbPath);
    const before = sha256Of(p.dbPath);
    const no = new Terminal(p.dir, ['doctor']);
    await no.waitFor(/Restore app from backup [0-9a-f]{8} .*\?/);
    await no.waitFor('Type "app" to restore, or press Enter to leave it as it is');
    no.keys('Enter');
    expect(await no.exitCode()).toBe(7);
    expect(sha256Of(p.dbPath)).toBe(before);
    const yes = new Terminal(p.dir, ['doctor']);
    await yes.waitFor('Type "app" to restore');
    yes.type('app');
    yes.keys('Enter');
    expect(await yes.exitCode()).toBe(0);
    expect(rowsOf(p.dbPath)).toEqual(rowsOf(await backupFileOf(p.dir, p.newest)));
  });

  it('refuses to move a damaged database aside while a process has it open (exit 4), changing nothing', async () => {
    const p = await damagedLater();
    overwritePages(p.dbPath);
    const before = sha256Of(p.dbPath);
    const app = holdOpen(p.dbPath, 'console.log("ready"); setInterval(() => {}, 1000);');
    try {
      await app.ready;
      const r = await runCli(['doctor', '--yes'], { cwd: p.dir });
      expect(r.code, r.stderr).toBe(4);
      expect(r.stderr).toMatch(new RegExp(`the database is open in pid ${app.child.pid}`));
      expect(r.stderr).toMatch(/stop the processes that use it/);
    } finally {
      app.child.kill();
      await app.done;
    }
    expect(sha256Of(p.dbPath)).toBe(before);
    expect(filesIn(path.join(p.dir, 'backups', 'app')).filter((n) => n.startsWith('corrupted-'))).toEqual([]);
  });

  it('with the store on a full disk of its own, moves nothing (exit 4); once there is room, copies the damaged files there', async () => {
    const p = tempProject('safe-run-doctor-', { rows: 400 });
    projects.push(p);
    const store = path.join(p.dir, 'store');
    mountTmpfs(store, '2m');
    writeFileSync(path.join(p.dir, 'safe-run.config.json'), JSON.stringify({ databases: [{ name: 'app', url: 'data/app.db' }], backupDir: 'store' }));
    expect((await runCli(['backup'], { cwd: p.dir })).code).toBe(0);
    const good = rowsOf(p.dbPath);
    overwritePages(p.dbPath);
    const damaged = sha256Of(p.dbPath);
    fillUntil(store, 0);
    const full = await runCli(['doctor', '--yes'], { cwd: p.dir });
    expect(full.code, full.stderr).toBe(4);
    expect(full.stderr).toMatch(/cannot move the damaged app aside into .*: no space left on the device/);
    expect(sha256Of(p.dbPath)).toBe(damaged);
    expect(filesIn(path.join(store, 'app')).filter((n) => n.startsWith('corrupted-'))).toEqual([]);
    rmSync(path.join(store, 'filler'));
    const { code, report, stderr } = await doctor(p.dir, ['--yes']);
    expect(code, stderr).toBe(0);
    expect(sha256Of(path.join(report.databases[0]!.corruptedDir!, 'app.db'))).toBe(damaged);
    expect(rowsOf(p.dbPath)).toEqual(good);
  });
});
