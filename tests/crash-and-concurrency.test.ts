// safe-run killed mid-backup or mid-restore, several safe-runs at once, and the per-database lock between them.
import Database from 'better-sqlite3';
import type { ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, watch } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { integrityOf, makeSampleDb, rowsOf, runCli, startCli, tempProject, type CliResult } from './helpers/cli.js';
import { bigProject as makeBigProject } from './helpers/cli.js';
import { backupFileOf } from './helpers/store.js';

interface ListedBackup {
  id: string;
  path: string;
  sha256: string;
  database: string;
  /** Set for a page backup (a repeat backup that keeps only its new pages). */
  pages: unknown;
}
interface LoggedRun {
  id: string;
  kind: string;
  status: string;
  argv: string[];
  pid: number;
  exitCode: number | null;
  databases: string[];
  backups: Array<{ id: string; database: string; path: string; sha256: string }>;
}

const cleanups: Array<() => void> = [];
afterEach(() => cleanups.splice(0).forEach((c) => c()));

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const sha256Of = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');

async function waitFor(cond: () => boolean, timeoutMs: number, why: string) {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > timeoutMs) throw new Error(why);
    await new Promise((r) => setTimeout(r, 3));
  }
}

function exitOf(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  return new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
}

/** Start the CLI and collect its stderr; `done` resolves on exit (not on close: an orphaned command may keep the pipes). */
function startTracked(args: string[], cwd: string) {
  const child = startCli(args, { cwd });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  child.stdout.resume();
  cleanups.unshift(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  return { child, stderr: () => stderr, done: exitOf(child) };
}

async function listBackups(cwd: string): Promise<ListedBackup[]> {
  const r = await runCli(['list', '--json'], { cwd });
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as ListedBackup[];
}

async function logOf(cwd: string): Promise<LoggedRun[]> {
  const r = await runCli(['log', '--json'], { cwd });
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as LoggedRun[];
}

/** Every backup the store lists is whole: its file has the recorded sha256 and passes integrity_check. */
async function expectOnlyWholeBackups(cwd: string) {
  const listed = await listBackups(cwd);
  for (const b of listed) {
    expect(path.basename(path.dirname(b.path)).startsWith('.'), `${b.path} is in a hidden dir`).toBe(false);
    const file = await backupFileOf(cwd, b); // a page backup: reassembled from its pages
    expect(sha256Of(file), `sha256 of ${file}`).toBe(b.sha256);
    expect(integrityOf(file), `integrity of ${file}`).toBe('ok');
  }
  return listed;
}

function bigProject(prefix: string, mb: number) {
  const p = makeBigProject(prefix, mb);
  cleanups.push(p.cleanup);
  return p;
}

/**
 * Names in `dir` that one of these pids created (safe-run's temp and aside names carry their owner's pid),
 * without the lock file beside a backup's temp directory (one per directory, removed with it).
 */
const leftOf = (dir: string, pids: number[]) =>
  existsSync(dir) ? readdirSync(dir).filter((n) => !n.endsWith('.lock') && pids.some((pid) => n.includes(`-${pid}-`))) : [];

/** Take a backup, then change the users table: returns the backup and both states. */
async function backupThenChange(p: ReturnType<typeof bigProject>) {
  const taken = await runCli(['backup', '--json'], { cwd: p.dir });
  expect(taken.code, taken.stderr).toBe(0);
  const backupId = (JSON.parse(taken.stdout) as ListedBackup[])[0]!.id;
  const backedUp = rowsOf(p.dbPath);
  const db = new Database(p.dbPath);
  db.exec('DELETE FROM users WHERE id > 10');
  db.close();
  return { backupId, backedUp, changed: rowsOf(p.dbPath) };
}

describe('a safe-run killed with SIGKILL', () => {
  it('in the middle of a backup leaves nothing partial listed, and the next guarded run works and removes what it left', async () => {
    // About 48 MB, so that a backup takes a good part of a second here.
    const p = bigProject('safe-run-kill-backup-', 48);
    // Part of the database only in the -wal of a connection held open meanwhile, as an application would.
    const db = new Database(p.dbPath);
    try {
      db.pragma('wal_autocheckpoint = 0');
      const ins = db.prepare('INSERT INTO blobs (data) VALUES (?)');
      db.transaction(() => {
        for (let i = 0; i < 40; i++) ins.run(randomBytes(65536));
      })();
      const expectedRows = rowsOf(p.dbPath);

      const killed: number[] = [];
      // Delays after the backup's temp dir appears: during the copy, the fold, the fsync, the check.
      for (const [i, delay] of [0, 40, 100].entries()) {
        const args = i % 2 === 0 ? ['--', 'sh', '-c', 'touch "$0"', path.join(p.dir, `ran-${i}`)] : ['backup'];
        const run = startTracked(args, p.dir);
        const pid = run.child.pid!;
        await waitFor(() => leftOf(p.storeDir, [pid]).length > 0, 20_000, `no temp dir of pid ${pid} appeared:\n${run.stderr()}`);
        if (delay > 0) await sleep(delay);
        // The kill must land mid-backup, or this round proves nothing.
        expect(leftOf(p.storeDir, [pid]), `the backup of pid ${pid} was already published after ${delay} ms`).toHaveLength(1);
        run.child.kill('SIGKILL');
        expect(await run.done).toEqual({ code: null, signal: 'SIGKILL' });
        killed.push(pid);
        if (i % 2 === 0) expect(existsSync(path.join(p.dir, `ran-${i}`)), 'the command ran without a backup').toBe(false);
      }

      // What they left (each run clears the one before it): the last one's hidden temp dir, nothing listed.
      expect(leftOf(p.storeDir, [killed.at(-1)!])).toHaveLength(1);
      expect(await expectOnlyWholeBackups(p.dir)).toEqual([]);

      const next = await runCli(['--', 'true'], { cwd: p.dir });
      expect(next.code, next.stderr).toBe(0);
      expect(leftOf(p.storeDir, killed)).toEqual([]);
      expect(readdirSync(p.storeDir).filter((n) => n.startsWith('.'))).toEqual([]);
      const listed = await expectOnlyWholeBackups(p.dir);
      expect(listed).toHaveLength(1);
      const log = await logOf(p.dir);
      const nextRun = log.find((r) => r.argv[0] === 'true');
      expect(nextRun?.status).toBe('succeeded');
      expect(nextRun?.backups.map((b) => b.id)).toEqual([listed[0]!.id]);
      // A run killed before its command started never counts as succeeded, nor stays "running".
      for (const r of log.filter((r) => killed.includes(r.pid))) expect(['aborted', 'interrupted']).toContain(r.status);
      // The live database never noticed.
      expect(integrityOf(p.dbPath)).toBe('ok');
      expect(rowsOf(p.dbPath)).toEqual(expectedRows);
      expect(rowsOf(listed[0]!.path)).toEqual(expectedRows);
      expect(rowsOf(listed[0]!.path, 'blobs')).toHaveLength(48 * 16 + 40);
      expect(db.prepare('SELECT count(*) FROM blobs').pluck().get()).toBe(48 * 16 + 40);
    } finally {
      db.close();
    }
  });

  it('in the middle of a restore never leaves the database missing or half-restored', async () => {
    const p = bigProject('safe-run-kill-restore-', 16);
    const { backupId, backedUp, changed } = await backupThenChange(p);
    const staged = (pid: number) => readdirSync(p.dataDir).some((n) => n.startsWith(`.${p.dbName}.tmp-${pid}-`));
    const points: Array<{ what: string; reached: (pid: number) => Promise<void>; delay: number }> = [
      { what: 'copy staged', reached: (pid) => waitFor(() => staged(pid), 20_000, 'no staged copy'), delay: 0 },
      {
        what: 'safety backup',
        reached: (pid) => waitFor(() => leftOf(p.storeDir, [pid]).length > 0, 20_000, 'no safety backup'),
        delay: 30,
      },
      {
        // The swap is a few renames: watch for the live file being moved aside and kill at once.
        what: 'swap',
        reached: (pid) =>
          new Promise<void>((resolve) => {
            const watcher = watch(p.dataDir, (_event, name) => {
              if (name?.startsWith(`.${p.dbName}.aside-${pid}-`)) {
                watcher.close();
                resolve();
              }
            });
            setTimeout(() => (watcher.close(), resolve()), 20_000);
          }),
        delay: 0,
      },
    ];
    for (const [i, point] of points.entries()) {
      const run = startTracked(['restore', backupId, '--yes'], p.dir);
      await point.reached(run.child.pid!);
      if (point.delay > 0) await sleep(point.delay);
      run.child.kill('SIGKILL');
      const exit = await run.done;
      // Whatever the moment, the database is at its path, whole, and either as it was or as restored.
      const left = readdirSync(p.dataDir).join(' ');
      expect(existsSync(p.dbPath), `${p.dbName} is gone after a kill during "${point.what}"; ${p.dataDir} holds: ${left}`).toBe(true);
      expect(integrityOf(p.dbPath), point.what).toBe('ok');
      const now = rowsOf(p.dbPath);
      if (i === 0) expect(now, 'killed before anything was swapped').toEqual(changed);
      else expect([changed, backedUp], point.what).toContainEqual(now);
      if (exit.code === 0) expect(now).toEqual(backedUp);
      expect(rowsOf(p.dbPath, 'blobs')).toHaveLength(16 * 16);
    }
  });

  it('while staging a restore, leaves no copy of the database behind once the next restore has run', async () => {
    const p = bigProject('safe-run-kill-staging-', 48); // big enough that the staged copy outlives the poll that sees it
    const { backupId, backedUp } = await backupThenChange(p);
    const killed: number[] = [];
    for (const delay of [150, 0]) {
      const run = startTracked(['restore', backupId, '--yes'], p.dir);
      const pid = run.child.pid!;
      await waitFor(() => leftOf(p.dataDir, [pid]).length > 0, 20_000, `no staged copy of pid ${pid}:\n${run.stderr()}`);
      if (delay > 0) await sleep(delay);
      run.child.kill('SIGKILL');
      await run.done;
      killed.push(pid);
    }
    // The premise: a staged copy, as big as the database, was left beside it (each run may clear the one before).
    expect(leftOf(p.dataDir, [killed.at(-1)!])).toHaveLength(1);

    const again = await runCli(['restore', backupId, '--yes'], { cwd: p.dir });
    expect(again.code, again.stderr).toBe(0);
    expect(rowsOf(p.dbPath)).toEqual(backedUp);
    expect(integrityOf(p.dbPath)).toBe('ok');
    const next = await runCli(['--', 'true'], { cwd: p.dir });
    expect(next.code, next.stderr).toBe(0);
    expect(leftOf(p.storeDir, killed)).toEqual([]);
    expect(leftOf(p.dataDir, killed), `left beside ${p.dbPath} by killed restores`).toEqual([]);
    await expectOnlyWholeBackups(p.dir);
  });
});

describe('safe-runs at the same time', () => {
  it('on two different databases, eight pairs at once, all land in the log', async () => {
    const p = tempProject('safe-run-pairs-', { rows: 20 });
    cleanups.push(p.cleanup);
    const other = path.join(p.dir, 'data', 'other.db');
    makeSampleDb(other, { rows: 20 });
    const runs: Array<Promise<CliResult>> = [];
    for (let i = 0; i < 8; i++) {
      // "sh -c : <tag>": the tag is $0, so each run's argv is unique in the log.
      // Eight runs queue on each database's lock: give them all the time a loaded machine may need.
      runs.push(runCli(['--wait', '45', '--db', p.dbPath, '--', 'sh', '-c', ':', `app-${i}`], { cwd: p.dir }));
      runs.push(runCli(['--wait', '45', '--db', other, '--', 'sh', '-c', ':', `other-${i}`], { cwd: p.dir }));
    }
    const results = await Promise.all(runs);
    for (const r of results) expect(r.code, r.stderr).toBe(0);

    const log = await logOf(p.dir);
    const tags = log.map((r) => r.argv[3]).sort();
    const want = [...Array(8).keys()].flatMap((i) => [`app-${i}`, `other-${i}`]).sort();
    expect(tags).toEqual(want);
    expect(new Set(log.map((r) => r.id)).size).toBe(16);
    for (const r of log) {
      expect(r.status, `run ${r.argv[3]}`).toBe('succeeded');
      expect(r.exitCode).toBe(0);
      expect(r.backups).toHaveLength(1);
      expect(r.backups[0]!.database).toBe(r.argv[3]!.startsWith('app') ? 'app' : 'other');
      const stored = (await listBackups(p.dir)).find((b) => b.id === r.backups[0]!.id)!;
      expect(sha256Of(await backupFileOf(p.dir, stored))).toBe(r.backups[0]!.sha256);
    }
    expect((await expectOnlyWholeBackups(p.dir)).length).toBe(16);
    // The log is one whole JSON document and nothing was left beside it.
    const raw = JSON.parse(readFileSync(path.join(p.dir, 'logs', 'operations.json'), 'utf8')) as { runs: unknown[] };
    expect(raw.runs).toHaveLength(16);
    expect(readdirSync(path.join(p.dir, 'logs')).filter((n) => n.includes('.tmp-'))).toEqual([]);
  });

  it('on the same database, the second waits for the lock, then runs after the first and sees its change', async () => {
    const p = tempProject('safe-run-wait-', { rows: 10 });
    cleanups.push(p.cleanup);
    const started = path.join(p.dir, 'first-started');
    const firstDone = path.join(p.dir, 'first-done');
    const first = startTracked(
      ['--', 'sh', '-c', `sqlite3 "$0" "INSERT INTO users (name, balance) VALUES ('by the first', 1)" && touch "$1" && sleep 3 && touch "$2"`, p.dbPath, started, firstDone],
      p.dir,
    );
    await waitFor(() => existsSync(started), 20_000, 'the first run never started its command');
    // The second's command only succeeds if the first's command is over.
    const second = await runCli(['--', 'sh', '-c', 'test -f "$0" && touch "$0.second"', firstDone], { cwd: p.dir });
    const firstExit = await first.done;
    expect(firstExit.code, first.stderr()).toBe(0);
    expect(second.code, second.stderr).toBe(0);
    expect(existsSync(`${firstDone}.second`)).toBe(true);
    expect(second.stderr).toMatch(new RegExp(`locked by pid ${first.child.pid}\\b`));
    expect(second.stderr).toMatch(/waiting/);

    const log = await logOf(p.dir);
    expect(log).toHaveLength(2);
    expect(log.every((r) => r.status === 'succeeded' && r.exitCode === 0)).toBe(true);
    // The second's backup was taken after the first's command: it holds the first's row.
    const secondRun = log.find((r) => r.argv[2]!.startsWith('test -f'))!;
    const stored = (await listBackups(p.dir)).find((b) => b.id === secondRun.backups[0]!.id)!;
    const names = (rowsOf(await backupFileOf(p.dir, stored)) as Array<{ name: string }>).map((r) => r.name);
    expect(names).toContain('by the first');
  });

  it('with --no-wait fails at once naming the holder, and with --wait 1 gives up after about a second; neither command runs', async () => {
    const p = tempProject('safe-run-nowait-', { rows: 10 });
    cleanups.push(p.cleanup);
    const started = path.join(p.dir, 'first-started');
    const first = startTracked(['--', 'sh', '-c', 'touch "$0" && sleep 5', started], p.dir);
    await waitFor(() => existsSync(started), 20_000, 'the first run never started its command');

    const noWaitMarker = path.join(p.dir, 'no-wait-ran');
    let t0 = Date.now();
    const noWait = await runCli(['--no-wait', '--', 'touch', noWaitMarker], { cwd: p.dir });
    const noWaitMs = Date.now() - t0;
    expect(noWait.code, noWait.stderr).toBe(125);
    expect(noWait.stderr).toMatch(new RegExp(`locked by pid ${first.child.pid}\\b`));
    expect(noWaitMs).toBeLessThan(4000);
    expect(existsSync(noWaitMarker)).toBe(false);

    const waitMarker = path.join(p.dir, 'wait-1-ran');
    t0 = Date.now();
    const wait1 = await runCli(['--wait', '1', '--', 'touch', waitMarker], { cwd: p.dir });
    const wait1Ms = Date.now() - t0;
    expect(wait1.code, wait1.stderr).toBe(125);
    expect(wait1.stderr).toMatch(/waiting/);
    expect(wait1.stderr).toMatch(new RegExp(`locked by pid ${first.child.pid}\\b`));
    expect(wait1Ms).toBeGreaterThanOrEqual(1000);
    expect(wait1Ms).toBeLessThan(4000);
    expect(existsSync(waitMarker)).toBe(false);

    const firstExit = await first.done;
    expect(firstExit.code, first.stderr()).toBe(0);
    const log = await logOf(p.dir);
    expect(log.filter((r) => r.status === 'succeeded').map((r) => r.argv[0])).toEqual(['sh']);
    // If the refused runs are logged at all, it is as aborted: their command never ran.
    const refused = log.filter((r) => r.argv.includes(noWaitMarker) || r.argv.includes(waitMarker));
    for (const r of refused) expect(r.status).toBe('aborted');
  });
});
