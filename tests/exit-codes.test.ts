// A guarded run behaves like the wrappers env, nice and timeout: the command's own exit code, stdout,
// arguments, environment and working directory pass through; safe-run's own failures are 125, and
// the other subcommands' usage and config errors are 2.
import { afterAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, realpathSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { FIXTURES, runCli, startCli, tempProject } from './helpers/cli.js';

// Tests run concurrently (each in its own project), so projects are removed once all are done.
const projects: Array<{ cleanup: () => void }> = [];
afterAll(() => projects.splice(0).forEach((p) => p.cleanup()));

function project(): ReturnType<typeof tempProject> {
  const p = tempProject('safe-run-exit-');
  projects.push(p);
  return p;
}

interface RunJson {
  id: string;
  status: string;
  argv: string[];
  exitCode: number | null;
  signal: string | null;
  endedAt: string | null;
}

async function logOf(cwd: string): Promise<RunJson[]> {
  const log = await runCli(['log', '--json'], { cwd });
  expect(log.code, log.stderr).toBe(0);
  return JSON.parse(log.stdout) as RunJson[];
}

async function waitForFile(file: string, ms = 20_000): Promise<void> {
  for (const until = Date.now() + ms; Date.now() < until; ) {
    if (existsSync(file)) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`${file} did not appear within ${ms} ms`);
}

/**
 * The end of a started CLI. If it has not ended after 30 s, it is killed and the promise rejects with
 * what it printed and the processes it left, so that a hang says where it hung.
 */
function closed(child: ReturnType<typeof startCli>): Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }> {
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  child.stdout.resume();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      const tree = spawnSync('ps', ['-o', 'pid,ppid,stat,args', '--ppid', String(child.pid), '-p', String(child.pid)], { encoding: 'utf8' }).stdout;
      child.kill('SIGKILL');
      reject(new Error(`safe-run did not end within 30 s; its stderr:\n${stderr}\nprocesses:\n${tree}`));
    }, 30_000);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stderr });
    });
  });
}

describe.concurrent('the exit code of a guarded run', () => {
  it("is the command's own exit code", async () => {
    const p = project();
    const run = await runCli(['--', 'sh', '-c', 'exit 7'], { cwd: p.dir });
    expect(run.code).toBe(7);
    const [entry] = await logOf(p.dir);
    expect(entry).toMatchObject({ status: 'failed', exitCode: 7, signal: null });
  });

  it('is 0 when the command succeeds', async () => {
    const p = project();
    const run = await runCli(['--', 'true'], { cwd: p.dir });
    expect(run.code).toBe(0);
    expect((await logOf(p.dir))[0]).toMatchObject({ status: 'succeeded', exitCode: 0 });
  });

  it('is 143 when the command kills itself with SIGTERM, and the log names the signal', async () => {
    const p = project();
    const run = await runCli(['--', 'sh', '-c', 'kill -TERM $$'], { cwd: p.dir });
    expect(run.code).toBe(143);
    expect(run.signal).toBeNull();
    expect((await logOf(p.dir))[0]).toMatchObject({ status: 'failed', signal: 'SIGTERM', exitCode: null });
  });

  it('is 137 when the command kills itself with SIGKILL', async () => {
    const p = project();
    const run = await runCli(['--', 'sh', '-c', 'kill -KILL $$'], { cwd: p.dir });
    expect(run.code).toBe(137);
    expect((await logOf(p.dir))[0]).toMatchObject({ status: 'failed', signal: 'SIGKILL' });
  });

  it('is 127 with a message naming the command when the command does not exist', async () => {
    const p = project();
    const run = await runCli(['--', 'no-such-command-for-safe-run'], { cwd: p.dir });
    expect(run.code).toBe(127);
    expect(run.stderr).toMatch(/no-such-command-for-safe-run: command not found/);
  });

  it('is 126 when the command is a file without the execute bit', async () => {
    const p = project();
    const script = path.join(p.dir, 'migrate.sh');
    writeFileSync(script, '#!/bin/sh\ntouch ran\n');
    chmodSync(script, 0o644);
    const run = await runCli(['--', './migrate.sh'], { cwd: p.dir });
    expect(run.code).toBe(126);
    expect(run.stderr).toMatch(/\.\/migrate\.sh: cannot execute/);
    expect(existsSync(path.join(p.dir, 'ran'))).toBe(false);
  });

  it('is 126 when the command is a directory', async () => {
    const p = project();
    mkdirSync(path.join(p.dir, 'scripts'));
    const run = await runCli(['--', './scripts'], { cwd: p.dir });
    expect(run.code).toBe(126);
    expect(run.stderr).toMatch(/\.\/scripts: cannot execute/);
  });
});

describe.concurrent('what the command is given and gives back', () => {
  it("passes the command's stdout through untouched and writes safe-run's own lines to stderr", async () => {
    const p = project();
    // printf builds the output from its format, so none of it appears verbatim in the command line.
    const run = await runCli(['--', 'printf', 'out-%s\\n\\n  %s-end', 'first', 'ünïcödé'], { cwd: p.dir });
    expect(run.code).toBe(0);
    expect(run.stdout).toBe('out-first\n\n  ünïcödé-end');
    expect(run.stderr).toMatch(/^undo\s+safe-run -C \S+ rollback [0-9a-f]{12}$/m);
    expect(run.stderr).toContain('backing up app');
    expect(run.stderr).not.toContain('out-first');
    expect(run.stderr).not.toContain('ünïcödé-end');
  });

  it('gives the command its arguments exactly, with spaces, quotes and $ unexpanded (no shell)', async () => {
    const p = project();
    const args = ['two words', "it's", '"double"', '$HOME', '${PATH}', '`id`', '$(id)', '*', 'a\\b', 'semi;colon', 'new\nline', '', '--', '-x'];
    const run = await runCli(['--', process.execPath, path.join(FIXTURES, 'exit-codes-report.mjs'), ...args], { cwd: p.dir });
    expect(run.code, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout).argv).toEqual(args);
    const [entry] = await logOf(p.dir);
    expect(entry!.argv.slice(2)).toEqual(args);
  });

  it('gives the command the environment and the working directory safe-run was started with', async () => {
    const p = project();
    const sub = path.join(p.dir, 'scripts', 'nested');
    mkdirSync(sub, { recursive: true });
    const run = await runCli(['--', process.execPath, path.join(FIXTURES, 'exit-codes-report.mjs')], {
      cwd: sub,
      env: { SAFE_RUN_PROBE: 'a value with spaces and $dollar' },
    });
    expect(run.code, run.stderr).toBe(0);
    const report = JSON.parse(run.stdout);
    expect(report.probe).toBe('a value with spaces and $dollar');
    expect(realpathSync(report.cwd)).toBe(realpathSync(sub));
    // The config was found by walking up from the subdirectory: the backup is in the project's store.
    expect(existsSync(path.join(p.dir, 'backups', 'app'))).toBe(true);
  });
});

describe.concurrent('signals sent to safe-run while the command runs', () => {
  /** Start `sh -c` with `trap` as its SIGTERM handler, send safe-run SIGTERM, and check the command's clean-up ran and was logged. */
  async function forwardTermTo(trap: string) {
    const p = project();
    const script = `trap "${trap}; touch cleaned-up; exit 0" TERM; touch started; while :; do sleep 0.05; done`;
    const child = startCli(['--', 'sh', '-c', script], { cwd: p.dir });
    const done = closed(child);
    await waitForFile(path.join(p.dir, 'started'));
    child.kill('SIGTERM');
    const result = await done;
    expect(existsSync(path.join(p.dir, 'cleaned-up'))).toBe(true);
    expect(result.signal).toBeNull();
    expect(result.code).toBe(0);
    const [entry] = await logOf(p.dir);
    expect(entry).toMatchObject({ status: 'succeeded', exitCode: 0, signal: null });
    expect(entry!.endedAt).not.toBeNull();
  }

  it('forwards SIGTERM to the command, which finishes its clean-up, and completes the log entry', async () => {
    await forwardTermTo(':');
  });

  it('waits for a clean-up after a forwarded SIGTERM that takes longer than 5 s, and never kills the command itself', async () => {
    await forwardTermTo('sleep 6');
  });

  it('exits 143 and logs the run as killed when the forwarded SIGTERM ends the command', async () => {
    const p = project();
    const child = startCli(['--', 'sh', '-c', 'touch started; exec sleep 30'], { cwd: p.dir });
    const done = closed(child);
    await waitForFile(path.join(p.dir, 'started'));
    child.kill('SIGTERM');
    const result = await done;
    expect(result.code).toBe(143);
    const [entry] = await logOf(p.dir);
    expect(entry).toMatchObject({ status: 'failed', signal: 'SIGTERM' });
    expect(entry!.endedAt).not.toBeNull();
  });
});

describe.concurrent('config errors', () => {
  const marker = (dir: string) => path.join(dir, 'marker');

  function ownLines(stderr: string): string[] {
    return stderr.split('\n').filter((l) => l.startsWith('safe-run:'));
  }

  it('stop a guarded run with 125 and one line naming the file when the config is not JSON', async () => {
    const p = project();
    const config = path.join(p.dir, 'broken.json');
    writeFileSync(config, '{ "databases": [ "data/app.db", ]');
    const run = await runCli(['--config', config, '--', 'sh', '-c', 'touch marker'], { cwd: p.dir });
    expect(run.code).toBe(125);
    expect(existsSync(marker(p.dir))).toBe(false);
    const lines = ownLines(run.stderr);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(config);
    expect(lines[0]).toMatch(/not valid JSON/);
    expect(run.stderr).not.toMatch(/^\s+at /m);
  });

  it.each([
    ['an unknown key', { databases: ['data/app.db'], backupDirectory: 'elsewhere' }, /backupDirectory/],
    ['"check" when its value is not quick or full', { databases: ['data/app.db'], check: 'thorough' }, /check.*quick.*full/],
    ['an unknown key inside a database entry', { databases: [{ name: 'app', url: 'data/app.db', path: 'x' }] }, /databases\[0\]\.path/],
    ['a database named twice', { databases: [{ name: 'a', url: 'data/app.db' }, { name: 'b', url: './data/app.db' }] }, /databases\[1\]\.url names the same database as "a"/],
  ])('stop a guarded run with 125 and one line naming the file and %s', async (_what, content, named) => {
    const p = project();
    const config = path.join(p.dir, 'safe-run.config.json');
    writeFileSync(config, JSON.stringify(content));
    const run = await runCli(['--', 'sh', '-c', 'touch marker'], { cwd: p.dir });
    expect(run.code).toBe(125);
    expect(existsSync(marker(p.dir))).toBe(false);
    const lines = ownLines(run.stderr);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(config);
    expect(lines[0]).toMatch(named);
    expect(run.stderr).not.toMatch(/^\s+at /m);
  });

  it('make log exit 2 naming the file when --config points at a file that does not exist', async () => {
    const p = project();
    const run = await runCli(['log', '--config', 'missing.json'], { cwd: p.dir });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(path.join(p.dir, 'missing.json'));
    expect(run.stdout).toBe('');
  });
});

describe.concurrent('usage', () => {
  it('refuses a command given without "--" with a usage error that shows where "--" goes', async () => {
    const p = project();
    const run = await runCli(['sh', '-c', 'touch marker'], { cwd: p.dir });
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/safe-run -- sh/);
    expect(existsSync(path.join(p.dir, 'marker'))).toBe(false);
    expect(existsSync(path.join(p.dir, 'backups'))).toBe(false);
  });

  it('refuses options without a command with a usage error', async () => {
    const p = project();
    const run = await runCli(['--reason', 'cleanup'], { cwd: p.dir });
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/"--"/);
  });

  it.each(['run', 'backup', 'rollback', 'restore', 'log', 'list', 'show', 'diff', 'prune', 'pin', 'unpin', 'init', 'verify', 'doctor', 'export', 'serve'])('prints the help of %s in 80 columns and exits 0', async (verb) => {
    const p = project();
    const run = await runCli([verb, '--help'], { cwd: p.dir });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/Usage:/);
    expect(run.stdout).toContain(verb === 'run' ? 'safe-run [options] -- <command>' : `safe-run ${verb}`);
    expect(run.stdout).toMatch(/Exit codes/);
    for (const line of run.stdout.split('\n')) expect(line.length, line).toBeLessThanOrEqual(80);
  });

  it('prints the main help with --help and exits 0', async () => {
    const p = project();
    const run = await runCli(['--help'], { cwd: p.dir });
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/Usage:/);
    for (const verb of ['backup', 'rollback', 'restore', 'log', 'list', 'show', 'diff', 'prune', 'pin', 'unpin', 'init', 'verify', 'doctor', 'serve']) expect(run.stdout).toContain(`safe-run ${verb}`);
    for (const line of run.stdout.split('\n')) expect(line.length, line).toBeLessThanOrEqual(80);
  });
});
