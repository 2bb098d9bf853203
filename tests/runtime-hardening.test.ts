// safe-run keeps guarding when things around it go wrong: its output pipe closes, the log cannot be
// written, directories are shared or symlinked, another PID namespace shares the store, the log is
// damaged, safe-run itself is killed while its command runs, two stores guard one database, a writer
// holds the database.
import Database from 'better-sqlite3';
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, readlinkSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { BIN, binForNobody, makeSampleDb, ROOT, rowsOf, runCli, runProcess, startCli, tempProject, type CliResult } from './helpers/cli.js';
import { listOf, logOf, waitFor } from './helpers/review.js';

const cleanups: Array<() => void> = [];
afterEach(() => cleanups.splice(0).forEach((c) => c()));

function project(opts: { wal?: boolean; rows?: number } = {}) {
  const p = tempProject('safe-run-hardening-', opts);
  cleanups.push(p.cleanup);
  return p;
}

function mountTmpfs(dir: string, options: string): void {
  mkdirSync(dir, { recursive: true });
  execFileSync('mount', ['-t', 'tmpfs', '-o', options, 'tmpfs', dir]);
  cleanups.unshift(() => execFileSync('umount', ['-l', dir]));
}

/** Fill the file system of `dir` to the last byte. */
function fill(dir: string): void {
  execFileSync('sh', ['-c', 'cat /dev/zero > "$0/fill" 2>/dev/null; true', dir]);
}

function writeConfig(dir: string, name: string, config: object): string {
  const file = path.join(dir, name);
  writeFileSync(file, JSON.stringify(config));
  return file;
}

/** Add `mb` MB of blobs to a database, so that backing it up takes a while. */
function addBlobs(file: string, mb: number): void {
  const db = new Database(file);
  db.exec('CREATE TABLE blobs (id INTEGER PRIMARY KEY, data BLOB NOT NULL)');
  const ins = db.prepare('INSERT INTO blobs (data) VALUES (?)');
  db.transaction(() => {
    for (let i = 0; i < mb * 16; i++) ins.run(randomBytes(65536));
  })();
  db.close();
}

/** A temp directory of a backup being written in `dir` (hidden, with its writer's pid in its name). */
const tempDirsIn = (dir: string) => (existsSync(dir) ? readdirSync(dir).filter((n) => /\.tmp-\d+-[0-9a-f]{8}$/.test(n)) : []);

const NOBODY = ['--reuid=nobody', '--regid=nogroup', '--clear-groups'];

function runAsNobody(args: string[], cwd: string): Promise<CliResult> {
  return runProcess('setpriv', [...NOBODY, process.execPath, binForNobody(), ...args], { cwd });
}

function startAsNobody(args: string[], cwd: string) {
  const child = spawn('setpriv', [...NOBODY, process.execPath, binForNobody(), ...args], { cwd, env: { ...process.env, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
  return track(child);
}

function startTracked(args: string[], cwd: string) {
  return track(startCli(args, { cwd }));
}

function track(child: ReturnType<typeof spawn>) {
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  child.stdout!.resume();
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  cleanups.unshift(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  return { child, stderr: () => stderr, done };
}

const modeOf = (file: string) => (statSync(file).mode & 0o7777).toString(8);

describe('a closed output', () => {
  it('does not stop the run: with 2>&1 | head -1 the command runs, its exit code passes through and is logged, no lock is left', async () => {
    const p = project();
    const marker = path.join(p.dir, 'ran');
    // The command sleeps first, so that head has exited and every later line of safe-run meets a closed pipe.
    const script = `"$0" "$1" -- sh -c 'sleep 0.5; touch "$0"; exit 7' "$2" 2>&1 | head -1; echo "\${PIPESTATUS[0]}" > status`;
    const r = await runProcess('bash', ['-c', script, process.execPath, BIN, marker], { cwd: p.dir });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim().split('\n')).toHaveLength(1);
    expect(readFileSync(path.join(p.dir, 'status'), 'utf8').trim()).toBe('7');
    expect(existsSync(marker), 'the command never ran').toBe(true);
    const [run] = await logOf(p.dir);
    expect(run).toMatchObject({ status: 'failed', exitCode: 7 });
    expect(run!.backups).toHaveLength(1);
    // Nothing of a lock stays behind: no note naming a holder, no journal.
    expect(readdirSync(path.dirname(p.dbPath)).filter((n) => n.includes('safe-run-lock') && n !== 'app.db.safe-run-lock')).toEqual([]);
    expect(readdirSync(path.join(p.dir, 'logs')).filter((n) => n.endsWith('.json') && n !== 'operations.json')).toEqual([]);
  });
});

describe('a log that cannot be written', () => {
  it('stops the run before the backup when the log directory is not writable, saying so in one line', async () => {
    const p = project();
    execFileSync('chown', ['-R', 'nobody:nogroup', p.dir]);
    mkdirSync(path.join(p.dir, 'logs'), { mode: 0o755 }); // root's: nobody may not write there
    const r = await runAsNobody(['--', 'touch', 'marker'], p.dir);
    expect(r.code, r.stderr).toBe(125);
    expect(r.stderr).toMatch(/^safe-run: cannot write the operation log \S*logs\/operations\.json: permission denied$/m);
    expect(r.stderr).toMatch(/try: make \S*logs writable/);
    expect(r.stderr).not.toMatch(/bug/);
    expect(existsSync(path.join(p.dir, 'marker'))).toBe(false);
    expect(await listOf(p.dir)).toEqual([]);
    expect(tempDirsIn(path.join(p.dir, 'backups', 'app'))).toEqual([]);
  });

  it('stops the run before the backup when the log is on a full disk', async () => {
    const p = project();
    mountTmpfs(path.join(p.dir, 'logs'), 'size=64k,mode=0755');
    fill(path.join(p.dir, 'logs'));
    for (let i = 0; i < 2; i++) {
      const r = await runCli(['--', 'touch', 'marker'], { cwd: p.dir });
      expect(r.code, r.stderr).toBe(125);
      expect(r.stderr).toMatch(/cannot write the operation log .*: no space left on the device/);
      expect(r.stderr).not.toMatch(/bug/);
    }
    expect(existsSync(path.join(p.dir, 'marker'))).toBe(false);
    expect(await listOf(p.dir)).toEqual([]);
    expect(tempDirsIn(path.join(p.dir, 'backups', 'app'))).toEqual([]);
  });

  it('removes the backup it just took when the log fills up during the backup', async () => {
    const p = project({ rows: 50 });
    addBlobs(p.dbPath, 32);
    mountTmpfs(path.join(p.dir, 'logs'), 'size=1m,mode=0755');
    const storeDir = path.join(p.dir, 'backups', 'app');
    const run = startTracked(['--', 'touch', 'marker'], p.dir);
    await waitFor(() => tempDirsIn(storeDir).length > 0, 20_000, `no backup started:\n${run.stderr()}`);
    fill(path.join(p.dir, 'logs'));
    expect(tempDirsIn(storeDir), 'the backup was over before the disk was full').toHaveLength(1);
    expect((await run.done).code, run.stderr()).toBe(125);
    expect(run.stderr()).toMatch(/cannot write the operation log .*: no space left on the device; the backup taken for this run was removed/);
    expect(run.stderr()).not.toMatch(/bug/);
    expect(existsSync(path.join(p.dir, 'marker'))).toBe(false);
    expect(readdirSync(storeDir)).toEqual([]);
  });
});

describe('directories safe-run did not create', () => {
  it('keeps the mode of a shared 1777 backup and log directory, and of the project used as backupDir', async () => {
    const p = project();
    for (const dir of ['shared', 'shared-logs']) {
      mkdirSync(path.join(p.dir, dir));
      chmodSync(path.join(p.dir, dir), 0o1777);
    }
    const shared = writeConfig(p.dir, 'shared.json', { databases: [{ name: 'app', url: 'data/app.db' }], backupDir: 'shared', logFile: 'shared-logs/ops.json' });
    chmodSync(p.dir, 0o755);
    const here = writeConfig(p.dir, 'here.json', { databases: [{ name: 'app', url: 'data/app.db' }], backupDir: '.', logFile: 'ops.json' });
    for (const config of [shared, here]) {
      const r = await runProcess('sh', ['-c', 'umask 000; exec "$0" "$@"', process.execPath, BIN, '--config', config, '--', 'true'], { cwd: p.dir });
      expect(r.code, r.stderr).toBe(0);
    }
    expect(modeOf(path.join(p.dir, 'shared'))).toBe('1777');
    expect(modeOf(path.join(p.dir, 'shared-logs'))).toBe('1777');
    expect(modeOf(p.dir)).toBe('755');
    // What safe-run created inside is private, also under umask 000.
    for (const dir of [path.join(p.dir, 'shared', 'app'), path.join(p.dir, 'app')]) {
      expect(modeOf(dir)).toBe('700');
      const [id] = readdirSync(dir).filter((n) => !n.startsWith('.'));
      expect(modeOf(path.join(dir, id!))).toBe('700');
      expect(modeOf(path.join(dir, id!, 'snapshot.sqlite'))).toBe('600');
      expect(modeOf(path.join(dir, id!, 'manifest.json'))).toBe('600');
    }
    expect(modeOf(path.join(p.dir, 'shared-logs', 'ops.json'))).toBe('600');
  });

  it('never changes the mode of the target of a backups/app or logs symlink', async () => {
    const p = project();
    for (const dir of ['elsewhere', 'logdir', 'backups']) mkdirSync(path.join(p.dir, dir), { mode: 0o755 });
    symlinkSync('../elsewhere', path.join(p.dir, 'backups', 'app'));
    symlinkSync('logdir', path.join(p.dir, 'logs'));
    const r = await runCli(['--', 'true'], { cwd: p.dir });
    expect(r.code, r.stderr).toBe(0);
    expect(modeOf(path.join(p.dir, 'elsewhere'))).toBe('755');
    expect(modeOf(path.join(p.dir, 'logdir'))).toBe('755');
    expect(modeOf(path.join(p.dir, 'backups'))).toBe('755');
    expect(readdirSync(path.join(p.dir, 'elsewhere')).filter((n) => !n.startsWith('.'))).toHaveLength(1);
    expect(existsSync(path.join(p.dir, 'logdir', 'operations.json'))).toBe(true);
  });
});

describe('leftovers in a store shared across PID namespaces', () => {
  it('a run in another PID namespace on another database leaves a backup in progress alone', async () => {
    const p = project({ rows: 50 });
    addBlobs(p.dbPath, 16);
    const small = path.join(p.dir, 'data', 'small.db');
    makeSampleDb(small, { rows: 5 });
    const storeDir = path.join(p.dir, 'backups', 'app');
    const host = startTracked(['backup'], p.dir);
    await waitFor(() => tempDirsIn(storeDir).length > 0, 20_000, `no backup started:\n${host.stderr()}`);
    // Hold the host's backup where it is while the other namespace runs from start to end.
    host.child.kill('SIGSTOP');
    try {
      expect(tempDirsIn(storeDir)).toHaveLength(1);
      const other = await runProcess('unshare', ['-pf', '--mount-proc', process.execPath, BIN, '--db', small, '--', 'true'], { cwd: p.dir });
      expect(other.code, other.stderr).toBe(0);
      expect(tempDirsIn(storeDir), 'the backup in progress was deleted').toHaveLength(1);
    } finally {
      host.child.kill('SIGCONT');
    }
    expect((await host.done).code, host.stderr()).toBe(0);
    const listed = await listOf(p.dir);
    expect(listed.map((b) => b.database).sort()).toEqual(['app', 'small']);
    expect(rowsOf(listed.find((b) => b.database === 'app')!.path)).toEqual(rowsOf(p.dbPath));
  });
});

describe('a log whose runs are not records', () => {
  it('stops every command before anything runs, naming the file and the entry, and leaves the file as it is', async () => {
    const p = project();
    const logFile = path.join(p.dir, 'logs', 'operations.json');
    mkdirSync(path.dirname(logFile));
    const damaged = '{"version":1,"runs":[1,null,"x"]}';
    writeFileSync(logFile, damaged);
    const run = await runCli(['--', 'touch', 'marker'], { cwd: p.dir });
    expect(run.code, run.stderr).toBe(125);
    expect(run.stderr).toMatch(/^safe-run: the operation log \S*operations\.json is damaged: runs\[0\] is the number 1, not a run record; it was left as it is$/m);
    expect(run.stderr).toMatch(/try: repair or remove that entry/);
    expect(existsSync(path.join(p.dir, 'marker'))).toBe(false);
    expect(await listOf(p.dir)).toEqual([]);
    for (const args of [['log'], ['show', 'last'], ['rollback', 'last', '--yes'], ['diff', 'last']]) {
      const r = await runCli(args, { cwd: p.dir });
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(6);
      expect(r.stderr).toMatch(/operations\.json is damaged: runs\[0\]/);
      expect(r.stderr).not.toMatch(/bug/);
    }
    expect(readFileSync(logFile, 'utf8')).toBe(damaged);
  });
});

describe('safe-run killed with SIGKILL while its command runs', () => {
  it('keeps the database locked until the orphaned command ends, and the log shows the run as interrupted', async () => {
    const p = project();
    const pidFile = path.join(p.dir, 'command.pid');
    const doneFile = path.join(p.dir, 'orphan-done');
    const first = startTracked(['--', 'sh', '-c', 'echo $$ > "$0.tmp" && mv "$0.tmp" "$0"; sleep 12; touch "$1"', pidFile, doneFile], p.dir);
    await waitFor(() => existsSync(pidFile), 20_000, `the command never started:\n${first.stderr()}`);
    const commandPid = Number(readFileSync(pidFile, 'utf8'));
    cleanups.unshift(() => {
      try {
        process.kill(commandPid, 'SIGKILL');
      } catch {
        // already gone
      }
    });
    first.child.kill('SIGKILL');
    expect(await first.done).toEqual({ code: null, signal: 'SIGKILL' });

    const refused = await runCli(['--no-wait', '--', 'touch', 'marker'], { cwd: p.dir });
    expect(refused.code, refused.stderr).toBe(125);
    expect(refused.stderr).toMatch(new RegExp(`app is locked by pid ${first.child.pid}\\b.*safe-run \\(pid ${first.child.pid}\\) was killed; its command still runs`));
    expect(existsSync(path.join(p.dir, 'marker'))).toBe(false);
    const killedRun = (await logOf(p.dir)).find((r) => r.pid === first.child.pid);
    expect(killedRun?.status).toBe('interrupted');

    // A run that waits starts only once the orphan is over: its command sees the orphan's last file.
    const next = await runCli(['--wait', '30', '--', 'sh', '-c', 'test -f "$0"', doneFile], { cwd: p.dir });
    expect(next.code, next.stderr).toBe(0);
    expect(next.stderr).toMatch(/waiting/);
    const log = await logOf(p.dir);
    expect(log.find((r) => r.pid === first.child.pid)?.status).toBe('interrupted');
    expect(log[0]).toMatchObject({ status: 'succeeded', exitCode: 0 });
  });
});

describe('one lock per database whatever the store', () => {
  it('refuses to guard a database whose directory is not writable and has no lock file, and says how to fix it', async () => {
    const p = project({ wal: false });
    execFileSync('chown', ['-R', 'nobody:nogroup', p.dir]);
    execFileSync('chown', ['root:root', path.dirname(p.dbPath)]);
    chmodSync(path.dirname(p.dbPath), 0o755);
    const config = writeConfig(p.dir, 'a.json', { databases: [{ name: 'app', url: 'data/app.db' }], backupDir: 'backups-a' });
    const r = await runAsNobody(['--config', config, '--', 'touch', 'marker'], p.dir);
    expect(r.code, r.stderr).toBe(125);
    expect(r.stderr).toMatch(/cannot lock app: its lock file \S*app\.db\.safe-run-lock does not exist and \S*data is not writable/);
    expect(r.stderr).toMatch(/try: .*touch \S*app\.db\.safe-run-lock/);
    expect(existsSync(path.join(p.dir, 'marker'))).toBe(false);
  });

  it('with a lock file beside it, two configs with different stores exclude each other', async () => {
    const p = project({ wal: false });
    writeFileSync(`${p.dbPath}.safe-run-lock`, '');
    execFileSync('chown', ['-R', 'nobody:nogroup', p.dir]);
    execFileSync('chown', ['root:root', path.dirname(p.dbPath)]);
    chmodSync(path.dirname(p.dbPath), 0o755);
    const a = writeConfig(p.dir, 'a.json', { databases: [{ name: 'app', url: 'data/app.db' }], backupDir: 'backups-a' });
    const b = writeConfig(p.dir, 'b.json', { databases: [{ name: 'app', url: 'data/app.db' }], backupDir: 'backups-b' });
    const first = startAsNobody(['--config', a, '--', 'sh', '-c', 'touch started; sleep 3'], p.dir);
    await waitFor(() => existsSync(path.join(p.dir, 'started')), 20_000, `the first run never started:\n${first.stderr()}`);
    const second = await runAsNobody(['--config', b, '--no-wait', '--', 'touch', 'marker'], p.dir);
    expect(second.code, second.stderr).toBe(125);
    expect(second.stderr).toMatch(/app is locked by/);
    expect(existsSync(path.join(p.dir, 'marker'))).toBe(false);
    expect((await first.done).code, first.stderr()).toBe(0);
  });
});

describe('a writer holding the database', () => {
  /** Hold the database in an EXCLUSIVE transaction for `ms`; resolves once it is held. */
  async function holdDatabase(file: string, ms: number, dir: string) {
    const held = path.join(dir, `held-${ms}`);
    const code = `const D = require(${JSON.stringify(path.join(ROOT, 'node_modules', 'better-sqlite3'))});
      const db = new D(process.argv[1]); db.exec('BEGIN EXCLUSIVE'); require('fs').writeFileSync(process.argv[2], '');
      setTimeout(() => { db.exec('COMMIT'); db.close(); }, Number(process.argv[3]));`;
    const child = spawn(process.execPath, ['-e', code, file, held, String(ms)], { stdio: 'ignore' });
    cleanups.unshift(() => child.kill('SIGKILL'));
    await waitFor(() => existsSync(held), 20_000, 'the holder never held the database');
    return new Promise<void>((resolve) => child.once('exit', () => resolve()));
  }

  it('is waited for as long as --wait says, with a line saying so', async () => {
    const p = project({ wal: false });
    void holdDatabase(p.dbPath, 4000, p.dir);
    const t0 = Date.now();
    const short = await runCli(['--wait', '1', '--', 'touch', 'marker'], { cwd: p.dir });
    const ms = Date.now() - t0;
    expect(short.code, short.stderr).toBe(125);
    expect(short.stderr).toMatch(/app is locked for writing by another process; waiting up to 1 s/);
    expect(short.stderr).toMatch(/try: .*--wait/);
    expect(ms).toBeLessThan(3500);
    expect(existsSync(path.join(p.dir, 'marker'))).toBe(false);

    const released = holdDatabase(p.dbPath, 1500, p.dir);
    const long = await runCli(['--wait', '20', '--', 'touch', 'marker'], { cwd: p.dir });
    expect(long.code, long.stderr).toBe(0);
    expect(long.stderr).toMatch(/app is locked for writing by another process; waiting up to 20 s/);
    expect(existsSync(path.join(p.dir, 'marker'))).toBe(true);
    await released;
  });
});

describe('the lock keeper a guarded run starts before it knows its databases', () => {
  /** Lock keepers working in `dir` (a keeper keeps the cwd of the safe-run that forked it). */
  const keepersIn = (dir: string) =>
    readdirSync('/proc')
      .filter((n) => /^\d+$/.test(n))
      .filter((pid) => {
        try {
          return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('lock-keeper') && readlinkSync(`/proc/${pid}/cwd`) === dir;
        } catch {
          return false; // gone meanwhile
        }
      });

  it('goes away with safe-run when the run stops before locking, and does not hold safe-run up', async () => {
    const p = project();
    const t0 = Date.now();
    const r = await runCli(['--db', 'data/missing.db', '--', 'touch', 'marker'], { cwd: p.dir, timeoutMs: 20_000 });
    expect(r.code, r.stderr).toBe(125);
    expect(r.stderr).toMatch(/missing\.db/);
    expect(Date.now() - t0).toBeLessThan(15_000); // not killed by the timeout: it ended on its own
    expect(existsSync(path.join(p.dir, 'marker'))).toBe(false);
    await waitFor(() => keepersIn(p.dir).length === 0, 10_000, `a lock keeper outlived safe-run: pids ${keepersIn(p.dir).join(', ')}`);
  });
});
