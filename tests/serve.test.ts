// safe-run serve as a user runs it: the real CLI in the foreground, real SQLite files, real signals.
import Database from 'better-sqlite3';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync, writeSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { BIN, binForNobody, integrityOf, makeSampleDb, ROOT, rowsOf, runCli, runProcess, startCli, tempProject } from './helpers/cli.js';
import { bigProject as makeBigProject } from './helpers/cli.js';
import { listOf, logOf, waitFor } from './helpers/review.js';
import { csrfOf, request } from './helpers/dashboard.js';
import { backupFileOf } from './helpers/store.js';
import { mountTmpfs, unmountAll } from './helpers/system.js';

const cleanups: Array<() => void> = [];
afterEach(() => {
  cleanups.splice(0).forEach((c) => c());
  unmountAll();
});

type Event = { type: string; database?: string; kind?: string; backup?: { id: string }; [k: string]: unknown };

/** A project with databases `app` and `other` (data/app.db, data/other.db). */
function twoDatabases(prefix: string, extraConfig: Record<string, unknown> = {}) {
  const p = tempProject(prefix);
  cleanups.push(p.cleanup);
  const other = path.join(p.dir, 'data', 'other.db');
  makeSampleDb(other);
  writeConfig(p.dir, { databases: [{ name: 'app', url: 'data/app.db' }, { name: 'other', url: 'data/other.db' }], ...extraConfig });
  return { ...p, other };
}

function writeConfig(dir: string, config: Record<string, unknown>) {
  writeFileSync(path.join(dir, 'safe-run.config.json'), JSON.stringify(config, null, 2));
}

function bigProject(prefix: string, mb: number) {
  const p = makeBigProject(prefix, mb);
  cleanups.push(p.cleanup);
  return p;
}

function exitOf(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  return new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
}

/** `safe-run serve --json --port 0 …`: its events as they come, its stderr, and its exit. */
function startServe(dir: string, args: string[], env?: Record<string, string | undefined>) {
  const child = startCli(['serve', '--json', '--port', '0', ...args], { cwd: dir, env });
  const events: Event[] = [];
  let stderr = '';
  let partial = '';
  child.stdout.on('data', (d: Buffer) => {
    partial += d.toString();
    const lines = partial.split('\n');
    partial = lines.pop()!;
    for (const line of lines) if (line.trim()) events.push(JSON.parse(line) as Event);
  });
  child.stderr.on('data', (d) => (stderr += d));
  cleanups.unshift(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  const done = exitOf(child);
  const count = (pred: (e: Event) => boolean) => events.filter(pred).length;
  const why = (what: string) => `${what}\nevents: ${events.map((e) => `${e.type} ${e.database ?? ''} ${e.kind ?? ''}`).join('; ')}\nstderr: ${stderr}`;
  return { child, events, stderr: () => stderr, done, count, why };
}

const done = (database: string, kind: string) => (e: Event) => e.type === 'backup-done' && e.database === database && e.kind === kind;
const sha256Of = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');
/** Hidden temp directories of backups being (or left half-) written. */
const tempDirs = (dir: string) => (existsSync(dir) ? readdirSync(dir).filter((n) => n.startsWith('.') && !n.endsWith('.lock')) : []);

/**
 * Every listed backup is whole: its database file (put together from the page store for a repeat backup)
 * has its sha256 and passes integrity_check.
 */
async function expectWholeBackups(dir: string) {
  const listed = await listOf(dir);
  for (const b of listed) {
    const file = await backupFileOf(dir, b);
    expect(sha256Of(file), b.path).toBe(b.sha256);
    expect(integrityOf(file), b.path).toBe('ok');
  }
  return listed;
}

describe('safe-run serve', () => {
  it('takes a startup backup, scheduled ones and a shutdown backup of every database, logs each, and exits 0 on SIGTERM', async () => {
    const p = twoDatabases('safe-run-serve-kinds-');
    const s = startServe(p.dir, ['--every', '1s']);
    await waitFor(() => s.count(done('app', 'scheduled')) >= 2 && s.count(done('other', 'scheduled')) >= 2, 30_000, s.why('no two scheduled backups of each'));
    s.child.kill('SIGTERM');
    expect(await s.done, s.stderr()).toEqual({ code: 0, signal: null });
    expect(s.count(done('app', 'shutdown'))).toBe(1);
    expect(s.count(done('other', 'shutdown'))).toBe(1);
    expect(s.events.at(-1)?.type).toBe('stopped');

    const listed = await expectWholeBackups(p.dir);
    for (const db of ['app', 'other']) {
      const kinds = listed.filter((b) => b.database === db).map((b) => b.kind);
      expect(kinds.filter((k) => k === 'startup'), db).toHaveLength(1);
      expect(kinds.filter((k) => k === 'shutdown'), db).toHaveLength(1);
      expect(kinds.filter((k) => k === 'scheduled').length, db).toBeGreaterThanOrEqual(2);
      expect(listed.filter((b) => b.database === db).every((b) => b.state === 'verified')).toBe(true);
    }
    // Each backup is in the log as the backup command that would have taken it, succeeded.
    const log = await logOf(p.dir);
    for (const b of listed) {
      const run = log.find((r) => r.backups.some((x) => x.id === b.id));
      expect(run?.status, b.id).toBe('succeeded');
      expect(run?.argv, b.id).toEqual(['backup', '--kind', b.kind, '--db', b.database]);
    }
    // The check at start, as doctor makes it.
    expect(s.events.filter((e) => e.type === 'check').map((e) => [e.database, e.state])).toEqual([['app', 'ok'], ['other', 'ok']]);
  });

  it('stamps each JSON event with the time it happened, in order; next-tick says when the tick is due in "due"', async () => {
    const p = tempProject('safe-run-serve-event-times-');
    cleanups.push(p.cleanup);
    const s = startServe(p.dir, ['--every', '2s']);
    await waitFor(() => s.count(done('app', 'scheduled')) >= 1, 30_000, s.why('no scheduled backup'));
    s.child.kill('SIGTERM');
    expect((await s.done).code, s.stderr()).toBe(0);
    const times = s.events.map((e) => Date.parse(String(e.at)));
    expect(times.every((t, i) => i === 0 || t >= times[i - 1]!), s.why(`events out of order: ${s.events.map((e) => `${e.type}@${e.at}`).join(' ')}`)).toBe(true);
    const ticks = s.events.filter((e) => e.type === 'next-tick');
    expect(ticks.length).toBeGreaterThanOrEqual(2);
    for (const t of ticks) expect(Date.parse(String(t.due)) - Date.parse(String(t.at)), JSON.stringify(t)).toBeGreaterThan(1000);
  });

  it('applies the config retention after each backup it takes, keeping manual backups', async () => {
    const p = tempProject('safe-run-serve-retention-');
    cleanups.push(p.cleanup);
    writeConfig(p.dir, { databases: [{ name: 'app', url: 'data/app.db' }], retention: { keepLast: 2, auto: true } });
    const manual = await runCli(['backup', '--json'], { cwd: p.dir });
    expect(manual.code, manual.stderr).toBe(0);
    const s = startServe(p.dir, ['--every', '1s']);
    await waitFor(() => s.count(done('app', 'scheduled')) >= 4, 30_000, s.why('no four scheduled backups'));
    s.child.kill('SIGTERM');
    expect((await s.done).code, s.stderr()).toBe(0);
    const pruned = s.events.reduce((n, e) => n + (e.type === 'backup-done' ? Number(e.pruned) : 0), 0);
    const taken = s.count((e) => e.type === 'backup-done');
    const listed = await listOf(p.dir);
    expect(listed.filter((b) => b.kind === 'manual').map((b) => b.id)).toEqual([JSON.parse(manual.stdout)[0].id]);
    expect(listed.filter((b) => b.kind !== 'manual').map((b) => b.kind)).toEqual(['shutdown', 'scheduled']);
    expect(pruned).toBe(taken - 2);
  });

  it('backs up at a cron expression from the config (schedule.cron, seconds field)', async () => {
    const p = twoDatabases('safe-run-serve-cron-', { schedule: { cron: '* * * * * *' } });
    const s = startServe(p.dir, ['--db', 'app']);
    await waitFor(() => s.count(done('app', 'scheduled')) >= 2, 30_000, s.why('no scheduled backups from the cron schedule'));
    expect(s.events.find((e) => e.type === 'started')?.schedule).toBe('cron * * * * * * (UTC)');
    s.child.kill('SIGINT');
    expect(await s.done, s.stderr()).toEqual({ code: 0, signal: null });
    // --db app: the other database was left alone.
    expect((await listOf(p.dir)).map((b) => b.database).filter((d) => d !== 'app')).toEqual([]);
  });

  it.each([
    ['SIGTERM', 'finishes a backup under way when SIGTERM comes, then takes the shutdown backup, keeps nothing partial and exits 0'],
    ['SIGHUP', 'stops the same way on SIGHUP (its terminal or ssh session closed): the backup under way finishes, then the shutdown backup, exit 0'],
  ] as const)('%s: %s', async (signal) => {
    const p = bigProject(`safe-run-serve-${signal.toLowerCase()}-`, 96);
    const s = startServe(p.dir, ['--every', '1h']);
    await waitFor(() => tempDirs(p.storeDir).length > 0, 30_000, s.why('the startup backup never started'));
    s.child.kill(signal);
    expect(await s.done, s.stderr()).toEqual({ code: 0, signal: null });
    // The signal came mid-backup (the premise): the startup backup was reported done after "stopping".
    const order = s.events.map((e) => (e.type === 'backup-done' ? `done ${e.kind}` : e.type)).filter((t) => t === 'stopping' || t.startsWith('done'));
    expect(order, s.why('order')).toEqual(['stopping', 'done startup', 'done shutdown']);
    const listed = await expectWholeBackups(p.dir);
    expect(listed.map((b) => b.kind).sort()).toEqual(['shutdown', 'startup']);
    expect(tempDirs(p.storeDir)).toEqual([]);
  });

  it('exits soon after its shutdown backups even while a client holds a half-sent request open', async () => {
    const p = tempProject('safe-run-serve-slow-client-');
    cleanups.push(p.cleanup);
    const s = startServe(p.dir, ['--every', '1h']);
    await waitFor(() => s.count(done('app', 'startup')) === 1, 30_000, s.why('no startup backup'));
    const port = Number(/:(\d+)\/$/.exec(String(s.events.find((e) => e.type === 'started')?.dashboard))?.[1]);
    const socket = net.connect(port, '127.0.0.1');
    cleanups.unshift(() => socket.destroy());
    await new Promise((r) => socket.once('connect', r));
    socket.write('GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n'); // and never the blank line that ends it
    await new Promise((r) => setTimeout(r, 300));
    const stopAt = Date.now();
    s.child.kill('SIGTERM');
    const exit = await Promise.race([s.done, new Promise((r) => setTimeout(() => r('still running'), 15_000))]);
    expect(exit, s.why('serve did not exit')).toEqual({ code: 0, signal: null });
    expect(Date.now() - stopAt).toBeLessThan(10_000);
    expect(s.count(done('app', 'shutdown'))).toBe(1);
  });

  it('lets a backup taken from the dashboard finish before its shutdown backup, which then does not fail as locked', async () => {
    const p = bigProject('safe-run-serve-action-at-stop-', 96);
    const s = startServe(p.dir, ['--every', '1h']);
    await waitFor(() => s.count(done('app', 'startup')) === 1, 60_000, s.why('no startup backup'));
    const port = Number(/:(\d+)\/$/.exec(String(s.events.find((e) => e.type === 'started')?.dashboard))?.[1]);
    const csrf = csrfOf((await request(port, 'GET', '/')).body);
    const manual = request(port, 'POST', '/backups', { form: { csrf, reason: 'just before the restart' } });
    await waitFor(() => tempDirs(p.storeDir).length > 0, 30_000, s.why('the manual backup never started'));
    s.child.kill('SIGTERM');
    expect((await manual).status).toBe(303);
    expect(await s.done, s.stderr()).toEqual({ code: 0, signal: null });
    expect(s.events.filter((e) => e.type === 'backup-failed'), s.why('a backup failed')).toEqual([]);
    expect(s.count(done('app', 'shutdown'))).toBe(1);
    const listed = await expectWholeBackups(p.dir);
    expect(listed.map((b) => b.kind).sort()).toEqual(['manual', 'shutdown', 'startup']);
  });

  it('exits at once with 130 on a second signal; the backup cut short is never listed and the next run clears it', async () => {
    const p = bigProject('safe-run-serve-twice-', 96);
    const s = startServe(p.dir, ['--every', '1h']);
    await waitFor(() => tempDirs(p.storeDir).length > 0, 30_000, s.why('the startup backup never started'));
    s.child.kill('SIGTERM');
    await waitFor(() => s.events.some((e) => e.type === 'stopping'), 10_000, s.why('no stopping event'));
    s.child.kill('SIGTERM');
    expect(await s.done, s.stderr()).toEqual({ code: 130, signal: null });
    expect(s.count((e) => e.type === 'backup-done'), s.why('a backup completed; the second signal came too late')).toBe(0);
    expect(await listOf(p.dir)).toEqual([]);
    const next = await runCli(['backup'], { cwd: p.dir });
    expect(next.code, next.stderr).toBe(0);
    expect(tempDirs(p.storeDir)).toEqual([]);
    expect(await expectWholeBackups(p.dir)).toHaveLength(1);
  });

  it('logs a database that has gone as failed and tries it again at each tick, while the server keeps backing up the others', async () => {
    const p = twoDatabases('safe-run-serve-fail-');
    const s = startServe(p.dir, ['--every', '1s']);
    await waitFor(() => s.count(done('other', 'startup')) === 1 && s.count(done('app', 'startup')) === 1, 30_000, s.why('no startup backups'));
    for (const suffix of ['', '-wal', '-shm']) rmSync(p.other + suffix, { force: true });
    const appBefore = s.count(done('app', 'scheduled'));
    const failedOther = (e: Event) => e.type === 'backup-failed' && e.database === 'other' && e.kind === 'scheduled';
    await waitFor(() => s.count(failedOther) >= 2 && s.count(done('app', 'scheduled')) >= appBefore + 2, 30_000, s.why('no retries of other, or app stopped'));
    expect(s.child.exitCode).toBe(null);
    expect(String(s.events.find(failedOther)?.message)).toMatch(/other/);

    // Put it back: the next tick backs it up again.
    makeSampleDb(p.other);
    await waitFor(() => s.events.slice(s.events.findLastIndex(failedOther)).some(done('other', 'scheduled')), 30_000, s.why('other was not backed up once it was back'));
    s.child.kill('SIGTERM');
    expect(await s.done, s.stderr()).toEqual({ code: 0, signal: null });

    // The failures are in the operation log, each as an aborted backup of `other` saying what went wrong.
    const failed = (await logOf(p.dir)).filter((r) => r.databases.includes('other') && r.status === 'aborted');
    expect(failed.length).toBeGreaterThanOrEqual(2);
    expect(failed[0]!.argv).toEqual(['backup', '--kind', 'scheduled', '--db', 'other']);
    expect(failed[0]!.error).toBeTruthy();
  });

  it('skips a tick while the database is held by a guarded run, says so, and backs it up once the run is over', async () => {
    const p = tempProject('safe-run-serve-skip-');
    cleanups.push(p.cleanup);
    const s = startServe(p.dir, ['--every', '1s']);
    await waitFor(() => s.count(done('app', 'startup')) === 1, 30_000, s.why('no startup backup'));
    const marker = path.join(p.dir, 'started');
    const run = runCli(['--', 'sh', '-c', 'touch "$0"; sleep 4', marker], { cwd: p.dir });
    await waitFor(() => s.count((e) => e.type === 'tick-skipped' && e.database === 'app') >= 1, 30_000, s.why('no tick was skipped'));
    const guarded = await run;
    expect(guarded.code, guarded.stderr).toBe(0);
    expect(existsSync(marker)).toBe(true);
    // The backup that waited for the run's lock completes after it; no queue of the skipped ticks follows.
    const skipped = s.count((e) => e.type === 'tick-skipped');
    await waitFor(() => s.count(done('app', 'scheduled')) >= 1, 30_000, s.why('the waiting backup never completed'));
    expect(s.events.some((e) => e.type === 'lock-wait' && e.database === 'app')).toBe(true);
    s.child.kill('SIGTERM');
    expect(await s.done, s.stderr()).toEqual({ code: 0, signal: null });
    expect(skipped).toBeGreaterThanOrEqual(1);
    expect(String(s.events.find((e) => e.type === 'tick-skipped')?.reason)).toMatch(/still running/);
  });

  it('with "autoRestore" repairs a database found damaged at start from its newest good backup, then backs it up', async () => {
    const p = tempProject('safe-run-serve-heal-', { rows: 3000 });
    cleanups.push(p.cleanup);
    const taken = await runCli(['backup', '--json'], { cwd: p.dir });
    expect(taken.code, taken.stderr).toBe(0);
    const good = JSON.parse(taken.stdout)[0].id as string;
    const rows = rowsOf(p.dbPath);
    // Garbage over pages 2 to 4 of the closed database (no -wal left).
    new Database(p.dbPath).close();
    const fd = openSync(p.dbPath, 'r+');
    writeSync(fd, Buffer.alloc(3 * 4096, 0x5a), 0, 3 * 4096, 4096);
    closeSync(fd);

    // Without autoRestore: reported, left alone, and its startup backup fails (a damaged copy never counts).
    const plain = startServe(p.dir, ['--every', '1h']);
    await waitFor(() => plain.count((e) => e.type === 'backup-failed' && e.kind === 'startup') === 1, 30_000, plain.why('the startup backup did not fail'));
    plain.child.kill('SIGTERM');
    expect((await plain.done).code, plain.stderr()).toBe(0);
    expect(plain.events.find((e) => e.type === 'check')?.state).toBe('damaged');
    expect(plain.count((e) => e.type === 'repaired')).toBe(0);

    writeConfig(p.dir, { databases: [{ name: 'app', url: 'data/app.db' }], autoRestore: true });
    const s = startServe(p.dir, ['--every', '1h']);
    await waitFor(() => s.count(done('app', 'startup')) === 1, 30_000, s.why('no startup backup after the repair'));
    s.child.kill('SIGTERM');
    expect((await s.done).code, s.stderr()).toBe(0);
    expect(s.events.find((e) => e.type === 'repaired')).toMatchObject({ database: 'app', backupId: good });
    expect(integrityOf(p.dbPath)).toBe('ok');
    expect(rowsOf(p.dbPath)).toEqual(rows);
    const repair = (await logOf(p.dir)).find((r) => r.kind === 'restore');
    expect(repair?.argv).toEqual(['doctor', '--db', 'app', '--yes']);
    expect(repair?.status).toBe('succeeded');
  });

  it('refuses a second serve of the same project (exit 5, naming the first one), which would take every backup twice', async () => {
    const p = twoDatabases('safe-run-serve-twice-started-');
    const first = startServe(p.dir, ['--every', '1h']);
    await waitFor(() => first.count(done('app', 'startup')) + first.count(done('other', 'startup')) === 2, 30_000, first.why('no startup backups'));
    const second = await runCli(['serve', '--json', '--port', '0', '--every', '1h'], { cwd: p.dir, timeoutMs: 20_000 });
    expect(second.code, second.stderr).toBe(5);
    expect(second.stderr.split('\n')[0]).toMatch(new RegExp(`another safe-run serve \\(pid ${first.child.pid}\\b.*already backs up`));
    expect(second.stderr).toMatch(/try: /);
    expect(second.stdout).toBe('');
    expect((await listOf(p.dir)).map((b) => b.kind).sort()).toEqual(['startup', 'startup']);
    // Another project sharing the store, with a database of its own, runs its own serve beside it.
    const q = tempProject('safe-run-serve-shared-store-');
    cleanups.push(q.cleanup);
    writeConfig(q.dir, { databases: [{ name: 'third', url: 'data/app.db' }], backupDir: path.join(p.dir, 'backups') });
    const neighbour = startServe(q.dir, ['--every', '1h']);
    await waitFor(() => neighbour.count(done('third', 'startup')) === 1, 30_000, neighbour.why('the neighbour took no startup backup'));
    neighbour.child.kill('SIGTERM');
    expect((await neighbour.done).code, neighbour.stderr()).toBe(0);
    first.child.kill('SIGTERM');
    expect((await first.done).code, first.stderr()).toBe(0);
    // The first one gone, its lock is free again (the kernel released it).
    const third = startServe(p.dir, ['--every', '1h']);
    await waitFor(() => third.count((e) => e.type === 'backup-done' && e.kind === 'startup') === 2, 30_000, third.why('the next serve took no startup backups'));
    third.child.kill('SIGTERM');
    expect((await third.done).code, third.stderr()).toBe(0);
  });

  it('serves a database named twice (--db app --db app) once, rather than refusing itself', async () => {
    const p = tempProject('safe-run-serve-db-twice-');
    cleanups.push(p.cleanup);
    writeConfig(p.dir, { databases: [{ name: 'app', url: 'data/app.db' }] });
    const s = startServe(p.dir, ['--every', '1h', '--db', 'app', '--db', 'app']);
    await waitFor(() => s.count(done('app', 'startup')) === 1 || s.child.exitCode !== null, 30_000, s.why('no startup backup'));
    expect(s.events.find((e) => e.type === 'started')?.databases, s.stderr()).toEqual(['app']);
    s.child.kill('SIGTERM');
    expect((await s.done).code, s.stderr()).toBe(0);
    expect((await listOf(p.dir)).map((b) => b.kind).sort()).toEqual(['shutdown', 'startup']);
  });

  it('without --json prints one line per step on stderr and nothing on stdout', async () => {
    const p = tempProject('safe-run-serve-text-');
    cleanups.push(p.cleanup);
    const child = startCli(['serve', '--every', '1h', '--port', '0'], { cwd: p.dir, env: { DYNO: 'web.1' } });
    cleanups.unshift(() => child.kill('SIGKILL'));
    let stderr = '';
    let stdout = '';
    child.stderr.on('data', (d) => (stderr += d));
    child.stdout.on('data', (d) => (stdout += d));
    await waitFor(() => /app startup: verified/.test(stderr), 30_000, `no startup line:\n${stderr}`);
    child.kill('SIGINT');
    expect((await exitOf(child)).code, stderr).toBe(0);
    expect(stdout).toBe('');
    expect(stderr).toMatch(/serve +1 database \(app\), backups every 1h/);
    expect(stderr).toMatch(/dashboard http:\/\/127\.0\.0\.1:\d+\//);
    expect(stderr).toMatch(/WARNING +running on Heroku \(DYNO is set\)/);
    expect(stderr).toMatch(/app shutdown: verified/);
    expect(stderr).toMatch(/stopped/);
    expect(stderr).not.toMatch(/\x1b\[/); // NO_COLOR
  });

  it('refuses a non-loopback --host without a token (exit 2, one line naming --token and SAFE_RUN_TOKEN), before any backup', async () => {
    const p = tempProject('safe-run-serve-host-');
    cleanups.push(p.cleanup);
    const r = await runCli(['serve', '--host', '0.0.0.0', '--port', '0'], { cwd: p.dir, env: { SAFE_RUN_TOKEN: undefined } });
    expect(r.code).toBe(2);
    expect(r.stderr.split('\n')[0]).toMatch(/0\.0\.0\.0.*token/);
    expect(r.stderr).toMatch(/--token/);
    expect(r.stderr).toMatch(/SAFE_RUN_TOKEN/);
    expect(existsSync(path.join(p.dir, 'backups'))).toBe(false);
  });

  it('refuses a --port that is not a plain port number, and says what a privileged port needs', async () => {
    const p = tempProject('safe-run-serve-port-');
    cleanups.push(p.cleanup);
    for (const port of ['', '1e3', '0x1F', '70000', '-1', '80.5']) {
      const r = await runCli(['serve', '--port', port, '--every', '1h'], { cwd: p.dir, timeoutMs: 15_000 });
      expect(r.code, `--port ${JSON.stringify(port)}: ${r.stderr}`).toBe(2);
      expect(r.stderr.split('\n')[0]).toMatch(port === '-1' ? /--port needs a value/ : /--port takes a port number/);
    }
    // An unprivileged user asking for port 80: the hint is about the port, not the address.
    chmodSync(p.dir, 0o755);
    chmodSync(path.join(p.dir, 'safe-run.config.json'), 0o644);
    const r = await runProcess('setpriv', ['--reuid=nobody', '--regid=nogroup', '--clear-groups', process.execPath, binForNobody(), 'serve', '--port', '80', '--every', '1h'], { cwd: p.dir, timeoutMs: 15_000 });
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr.split('\n')[0]).toMatch(/cannot listen on 127\.0\.0\.1:80: ports below 1024 need privileges/);
    expect(r.stderr).toMatch(/try: .*--port 7171/);
    expect(r.stderr).not.toMatch(/address of this machine/);
  });

  it('refuses a blank --token (a dashboard the user believes protected would be open), and trims spaces around one', async () => {
    const p = tempProject('safe-run-serve-blank-token-');
    cleanups.push(p.cleanup);
    for (const args of [['--token', ''], ['--token', '   '], ['--host', '0.0.0.0', '--token', ' ']]) {
      const r = await runCli(['serve', '--port', '0', '--every', '1h', ...args], { cwd: p.dir, timeoutMs: 15_000 });
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(2);
      expect(r.stderr.split('\n')[0]).toMatch(/--token is blank/);
    }
    expect(existsSync(path.join(p.dir, 'backups', 'app'))).toBe(false);
    // A token read from a file with a trailing space or newline: the bearer header (trimmed) still opens it.
    const s = startServe(p.dir, ['--every', '1h'], { SAFE_RUN_TOKEN: ' s3cret-token \n' });
    await waitFor(() => s.events.some((e) => e.type === 'started'), 30_000, s.why('not started'));
    const port = Number(/:(\d+)\/$/.exec(String(s.events.find((e) => e.type === 'started')?.dashboard))?.[1]);
    expect((await request(port, 'GET', '/api/health', { headers: { authorization: 'Bearer s3cret-token' } })).status).toBe(200);
    expect((await request(port, 'GET', '/api/health', { headers: { authorization: 'Bearer s3cret' } })).status).toBe(401);
    s.child.kill('SIGTERM');
    expect((await s.done).code, s.stderr()).toBe(0);
  });

  it('masks a --token and a URL password given on its command line in the process list once it runs', async () => {
    const p = tempProject('safe-run-serve-ps-');
    cleanups.push(p.cleanup);
    const token = 'tok-7f3a-never-in-ps';
    // A --db URL with a password (it fails to connect: what matters is what `ps` shows meanwhile).
    const s = startServe(p.dir, ['--every', '1h', '--token', token, '--db', 'data/app.db', '--db', 'postgres://postgres:pw-never-in-ps@127.0.0.1:1/nowhere']);
    await waitFor(() => s.events.some((e) => e.type === 'started'), 30_000, s.why('not started'));
    const cmdline = readFileSync(`/proc/${s.child.pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
    const ps = execFileSync('ps', ['-ef'], { encoding: 'utf8' });
    for (const seen of [cmdline, ps]) {
      expect(seen).not.toContain(token);
      expect(seen).not.toContain('pw-never-in-ps');
    }
    expect(cmdline).toMatch(/safe-run serve .*--token \*\*\* .*postgres:\/\/postgres:\*\*\*@127\.0\.0\.1:1\/nowhere/);
    s.child.kill('SIGTERM');
    expect((await s.done).code, s.stderr()).toBe(0);
  });

  it('takes an IPv6 --host in brackets, as it prints addresses ([::1])', async () => {
    const p = tempProject('safe-run-serve-v6-');
    cleanups.push(p.cleanup);
    const s = startServe(p.dir, ['--every', '1h', '--host', '[::1]']);
    await waitFor(() => s.events.some((e) => e.type === 'started') || s.child.exitCode !== null, 30_000, s.why('not started'));
    expect(s.events.find((e) => e.type === 'started')?.dashboard, s.stderr()).toMatch(/^http:\/\/\[::1\]:\d+\/$/);
    s.child.kill('SIGTERM');
    expect((await s.done).code, s.stderr()).toBe(0);
  });

  it('says at start that the store is on a file system that vanishes, or on a serverless platform', async () => {
    const p = tempProject('safe-run-serve-env-');
    cleanups.push(p.cleanup);
    const shm = path.join('/dev/shm', path.basename(p.dir));
    cleanups.push(() => rmSync(shm, { recursive: true, force: true }));
    writeConfig(p.dir, { databases: [{ name: 'app', url: 'data/app.db' }], backupDir: shm });
    const s = startServe(p.dir, ['--every', '1h'], { VERCEL: '1' });
    await waitFor(() => s.count(done('app', 'startup')) === 1, 30_000, s.why('no startup backup'));
    s.child.kill('SIGTERM');
    expect((await s.done).code, s.stderr()).toBe(0);
    const findings = (s.events.find((e) => e.type === 'started')?.environment ?? []) as Array<{ code: string; message: string }>;
    expect(findings.map((f) => f.code).sort()).toEqual(['serverless', 'volatile-fs']);
    expect(findings.find((f) => f.code === 'volatile-fs')?.message).toMatch(/tmpfs/);
    expect(findings.find((f) => f.code === 'serverless')?.message).toMatch(/Vercel/);
  });

  it('says at start that the store is on a read-only file system, keeps running, and reports each failed backup', async () => {
    const p = tempProject('safe-run-serve-ro-');
    cleanups.push(p.cleanup);
    const ro = path.join(p.dir, 'ro');
    mountTmpfs(ro, '4m');
    cleanups.unshift(unmountAll); // before the project's directory is removed
    execFileSync('mount', ['-o', 'remount,ro', ro]);
    writeConfig(p.dir, { databases: [{ name: 'app', url: 'data/app.db' }], backupDir: 'ro/backups' });
    const s = startServe(p.dir, ['--every', '1s']);
    const failed = (e: Event) => e.type === 'backup-failed' && e.database === 'app';
    await waitFor(() => s.count(failed) >= 2, 30_000, s.why('no failed backups'));
    expect(s.child.exitCode).toBe(null);
    s.child.kill('SIGTERM');
    expect((await s.done).code, s.stderr()).toBe(0);
    const findings = (s.events.find((e) => e.type === 'started')?.environment ?? []) as Array<{ code: string; message: string }>;
    expect(findings.find((f) => f.code === 'read-only-fs')?.message).toMatch(/the store .*ro\/backups cannot be written: .* read-only file system/);
    expect(String(s.events.find(failed)?.message)).toMatch(/backup directory|read-only/);
  });

  it('names a store that became unwritable while serving (not "unable to open the database file") and keeps running', async () => {
    const p = tempProject('safe-run-serve-unwritable-later-');
    cleanups.push(p.cleanup);
    // As an unprivileged user, whom file modes stop (root may write anywhere).
    execFileSync('chown', ['-R', 'nobody:nogroup', p.dir]);
    const child = spawn('setpriv', ['--reuid=nobody', '--regid=nogroup', '--clear-groups', process.execPath, binForNobody(), 'serve', '--json', '--port', '0', '--every', '1s'], { cwd: p.dir, env: { ...process.env, NO_COLOR: '1' } });
    cleanups.unshift(() => child.kill('SIGKILL'));
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    const events = () => out.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Event);
    await waitFor(() => events().some(done('app', 'scheduled')), 30_000, `no scheduled backup:\n${out}`);
    chmodSync(path.join(p.dir, 'backups', 'app'), 0o555);
    const failed = (e: Event) => e.type === 'backup-failed' && e.kind === 'scheduled';
    await waitFor(() => events().filter(failed).length >= 2, 30_000, `no failed scheduled backups:\n${out}`);
    const f = events().find(failed)!;
    expect(String(f.message), out).toMatch(/cannot write the backup of app to .*backups: permission denied/);
    expect(String(f.hint)).toMatch(/make .*backups writable/);
    chmodSync(path.join(p.dir, 'backups', 'app'), 0o700);
    child.kill('SIGTERM');
    expect((await exitOf(child)).code, out).toBe(0);
  });

  it('refuses bad schedules in the config and on the command line with one line each (exit 2)', async () => {
    const p = tempProject('safe-run-serve-config-');
    cleanups.push(p.cleanup);
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [{ schedule: { every: '5 parsecs' } }, /schedule\.every must be an interval/],
      [{ schedule: { cron: '61 * * * *' } }, /schedule\.cron is not a cron expression.*minute/],
      [{ schedule: { every: '1h', cron: '0 3 * * *' } }, /schedule takes "every" or "cron", not both/],
      [{ enabled: 'no' }, /enabled must be true or false/],
      // Beyond what a Date can hold, the first tick crashed serve with a RangeError and a stack.
      [{ schedule: { every: '999999999d' } }, /schedule\.every must be an interval .*a year/],
      // February 30th never comes: serve would wait for the year 275760.
      [{ schedule: { cron: '0 0 30 2 *' } }, /schedule\.cron .*never/],
    ];
    for (const [extra, message] of cases) {
      writeConfig(p.dir, { databases: [{ name: 'app', url: 'data/app.db' }], ...extra });
      const r = await runCli(['serve', '--port', '0'], { cwd: p.dir });
      expect(r.code, JSON.stringify(extra)).toBe(2);
      expect(r.stderr.split('\n')[0]).toMatch(message);
    }
    writeConfig(p.dir, { databases: [{ name: 'app', url: 'data/app.db' }] });
    const bad = await runCli(['serve', '--every', 'often', '--port', '0'], { cwd: p.dir });
    expect(bad.code).toBe(2);
    expect(bad.stderr.split('\n')[0]).toMatch(/--every takes an interval/);
    const huge = await runCli(['serve', '--every', '999999999d', '--port', '0'], { cwd: p.dir });
    expect(huge.code, huge.stderr).toBe(2);
    expect(huge.stderr.split('\n')[0]).toMatch(/--every takes an interval .*a year/);
    expect(huge.stderr).not.toMatch(/RangeError|    at /);
    expect(existsSync(path.join(p.dir, 'backups'))).toBe(false);
  });
});

describe('safe-run backup --kind scheduled (one tick, for cron or a systemd timer)', () => {
  it('takes automatic backups that the config retention prunes, and keeps manual ones', async () => {
    const p = tempProject('safe-run-backup-kind-');
    cleanups.push(p.cleanup);
    writeConfig(p.dir, { databases: [{ name: 'app', url: 'data/app.db' }], retention: { keepLast: 2, auto: true } });
    const manual = await runCli(['backup', '--json'], { cwd: p.dir });
    expect(manual.code, manual.stderr).toBe(0);
    const manualId = JSON.parse(manual.stdout)[0].id as string;
    const ids: string[] = [];
    for (let i = 0; i < 4; i++) {
      const r = await runCli(['backup', '--kind', 'scheduled', '--json'], { cwd: p.dir });
      expect(r.code, r.stderr).toBe(0);
      ids.push(JSON.parse(r.stdout)[0].id);
    }
    const listed = await listOf(p.dir);
    expect(listed.map((b) => b.id).sort()).toEqual([manualId, ...ids.slice(-2)].sort());
    expect(listed.find((b) => b.id === ids.at(-1))?.kind).toBe('scheduled');
    const kinds = await listOf(p.dir, ['--kind', 'scheduled']);
    expect(kinds.map((b) => b.id).sort()).toEqual(ids.slice(-2).sort());
  });

  it("the README's crontab line works on a project where safe-run never ran (no logs/ yet), and never runs npm's namesake", async () => {
    const p = tempProject('safe-run-cron-line-');
    cleanups.push(p.cleanup);
    writeConfig(p.dir, { databases: [{ name: 'app', url: 'data/app.db' }] });
    const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
    const line = /^0 \*\/6 \* \* \*\s+(cd \/srv\/app && .*)$/m.exec(readme)?.[1];
    expect(line, 'no crontab line in the README').toBeDefined();
    const command = line!.replace('/srv/app', p.dir);
    // Where safe-run is not installed the line fails, and never fetches a namesake from npm (npx would).
    const absent = await runProcess('sh', ['-c', command], { cwd: p.dir, env: { npm_config_offline: 'true' } });
    expect(absent.code).not.toBe(0);
    expect(absent.stderr).not.toMatch(/registry\.npmjs\.org|npm error/);
    expect(await listOf(p.dir)).toEqual([]);
    // Installed as npm installs it (node_modules/.bin/safe-run), run as cron runs it: sh, in the project.
    mkdirSync(path.join(p.dir, 'node_modules', '.bin'), { recursive: true });
    symlinkSync(BIN, path.join(p.dir, 'node_modules', '.bin', 'safe-run'));
    const r = await runProcess('sh', ['-c', command], { cwd: p.dir });
    expect(r.code, `${command}\n${r.stderr}`).toBe(0);
    expect((await listOf(p.dir)).map((b) => b.kind)).toEqual(['scheduled']);
    const logged = readdirSync(p.dir, { recursive: true }).map(String).find((f) => f.endsWith('safe-run-cron.log'));
    expect(readFileSync(path.join(p.dir, logged!), 'utf8')).toMatch(/verified/);
  });

  it('refuses a kind it does not take', async () => {
    const p = tempProject('safe-run-backup-kind-bad-');
    cleanups.push(p.cleanup);
    const r = await runCli(['backup', '--kind', 'pre-run'], { cwd: p.dir });
    expect(r.code).toBe(2);
    expect(r.stderr.split('\n')[0]).toMatch(/--kind takes manual, scheduled, startup, shutdown/);
  });
});

describe('backups switched off (SAFE_RUN_DISABLE=1 or "enabled": false)', () => {
  it.each([
    ['SAFE_RUN_DISABLE=1', { SAFE_RUN_DISABLE: '1' }, {}, /SAFE_RUN_DISABLE=1/],
    ['"enabled": false', {}, { enabled: false }, /"enabled": false/],
  ])('with %s a guarded run starts the command without a backup, warns loudly and logs why', async (_label, env, config, reason) => {
    const p = tempProject('safe-run-disabled-');
    cleanups.push(p.cleanup);
    writeConfig(p.dir, { databases: [{ name: 'app', url: 'data/app.db' }], ...config });
    const marker = path.join(p.dir, 'ran');
    const r = await runCli(['--', 'sh', '-c', 'touch "$0"; exit 3', marker], { cwd: p.dir, env });
    expect(r.code, r.stderr).toBe(3); // the command's own code
    expect(existsSync(marker)).toBe(true);
    expect(r.stderr).toMatch(/WARNING: NO BACKUP of app/);
    expect(r.stderr).toMatch(reason);
    expect(await listOf(p.dir)).toEqual([]);
    const [run] = await logOf(p.dir);
    expect(run!.status).toBe('failed');
    expect(run!.backups).toEqual([]);
    expect(run!.backupSkipped?.reason).toMatch(reason);
    const show = await runCli(['show', run!.id], { cwd: p.dir });
    expect(show.stdout).toMatch(/skipped: .*(SAFE_RUN_DISABLE|enabled)/);
    const log = await runCli(['log'], { cwd: p.dir });
    expect(log.stdout).toMatch(/app \(no backup\)/);
  });

  it('backup and serve refuse with exit 2 and a line naming the switch', async () => {
    const p = tempProject('safe-run-disabled-refuse-');
    cleanups.push(p.cleanup);
    for (const args of [['backup'], ['backup', '--kind', 'scheduled'], ['serve', '--port', '0']]) {
      const r = await runCli(args, { cwd: p.dir, env: { SAFE_RUN_DISABLE: '1' } });
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr.split('\n')[0]).toMatch(/backups are switched off \(SAFE_RUN_DISABLE=1/);
      expect(r.stderr).toMatch(/unset SAFE_RUN_DISABLE/);
    }
    expect(await listOf(p.dir)).toEqual([]);
  });
});
