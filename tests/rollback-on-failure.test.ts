// --rollback-on-failure: a failed command's changes are undone at once; a successful one's are kept.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FIXTURES, integrityOf, rollbackLine, rowsOf, runCli, tempProject } from './helpers/cli.js';

interface LoggedRun {
  id: string;
  kind: string;
  status: string;
  argv: string[];
  exitCode: number | null;
  signal: string | null;
  backups: Array<{ id: string; path: string }>;
  restored: Array<{ backupId: string; method?: string }> | null;
  rollbackCommand: string | null;
  autoRollback: { ok: boolean; restoreRunId?: string; error?: string } | null;
}

const cleanups: Array<() => void> = [];
afterEach(() => cleanups.splice(0).forEach((c) => c()));

function project() {
  const p = tempProject('safe-run-rof-', { rows: 100 });
  cleanups.push(p.cleanup);
  return p;
}

async function logOf(cwd: string): Promise<LoggedRun[]> {
  const r = await runCli(['log', '--json'], { cwd });
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as LoggedRun[];
}

/** The command that undoes the automatic rollback, from the line that starts with "undo". */
function undoOfRollback(stderr: string): string[] {
  const line = stderr.split('\n').find((l) => /^undo\b/.test(l) && /safe-run -C \S+ rollback [0-9a-f]+/.test(l));
  if (!line) throw new Error(`no undo command in:\n${stderr}`);
  return /safe-run (-C \S+ rollback [0-9a-f]+)/.exec(line)![1]!.split(' ');
}

/** The guarded run and the automatic rollback it points to. */
function runAndItsRollback(log: LoggedRun[]) {
  const run = log.find((r) => r.kind === 'run')!;
  expect(run).toBeDefined();
  const rollback = log.find((r) => r.id === run.autoRollback?.restoreRunId);
  return { run, rollback };
}

describe('a guarded run with --rollback-on-failure', () => {
  it('restores the data when the command fails, and exits with the command\'s code', async () => {
    const p = project();
    const before = rowsOf(p.dbPath);
    const r = await runCli(['--rollback-on-failure', '--', 'sh', '-c', 'sqlite3 "$0" "DELETE FROM users" && exit 3', p.dbPath], { cwd: p.dir });
    expect(r.code, r.stderr).toBe(3);
    expect(rowsOf(p.dbPath)).toEqual(before);
    expect(integrityOf(p.dbPath)).toBe('ok');
    expect(existsSync(`${p.dbPath}-journal`)).toBe(false);

    const { run, rollback } = runAndItsRollback(await logOf(p.dir));
    expect(run).toMatchObject({ status: 'failed', exitCode: 3 });
    expect(run.autoRollback).toMatchObject({ ok: true });
    expect(rollback).toMatchObject({ kind: 'rollback', status: 'succeeded' });
    expect(rollback!.restored!.map((x) => x.backupId)).toEqual(run.backups.map((b) => b.id));
  });

  it('keeps the changes of a command that succeeds', async () => {
    const p = project();
    const r = await runCli(['--rollback-on-failure', '--', 'sh', '-c', 'sqlite3 "$0" "DELETE FROM users WHERE id > 40"', p.dbPath], { cwd: p.dir });
    expect(r.code, r.stderr).toBe(0);
    expect(rowsOf(p.dbPath)).toHaveLength(40);
    const log = await logOf(p.dir);
    expect(log).toHaveLength(1);
    expect(log[0]).toMatchObject({ kind: 'run', status: 'succeeded', exitCode: 0, autoRollback: null });
    // Its undo is still the ordinary one.
    expect(rollbackLine(r.stderr)).toBe(`safe-run -C ${p.dir} rollback ${log[0]!.id}`);
  });

  it('restores the data when the command is killed by a signal, and exits 128 + the signal', async () => {
    const p = project();
    const before = rowsOf(p.dbPath);
    const r = await runCli(['--rollback-on-failure', '--', 'sh', '-c', 'sqlite3 "$0" "UPDATE users SET balance = 0" && kill -9 $$', p.dbPath], { cwd: p.dir });
    expect(r.code, r.stderr).toBe(137);
    expect(rowsOf(p.dbPath)).toEqual(before);
    const { run, rollback } = runAndItsRollback(await logOf(p.dir));
    expect(run).toMatchObject({ status: 'failed', signal: 'SIGKILL' });
    expect(rollback?.status).toBe('succeeded');
  });

  it('can itself be undone with the command it prints, back to what the failed command left', async () => {
    const p = project();
    const r = await runCli(['--rollback-on-failure', '--', 'sh', '-c', 'sqlite3 "$0" "DELETE FROM users WHERE id <= 25" && exit 1', p.dbPath], { cwd: p.dir });
    expect(r.code, r.stderr).toBe(1);
    expect(rowsOf(p.dbPath)).toHaveLength(100);
    const undo = undoOfRollback(r.stderr);
    const { rollback } = runAndItsRollback(await logOf(p.dir));
    expect(undo).toEqual(['-C', p.dir, 'rollback', rollback!.id]);
    const again = await runCli([...undo, '--yes'], { cwd: p.dir });
    expect(again.code, again.stderr).toBe(0);
    expect((rowsOf(p.dbPath) as Array<{ id: number }>).map((u) => u.id)).toEqual([...Array(75).keys()].map((i) => i + 26));
    expect(integrityOf(p.dbPath)).toBe('ok');
  });

  it('restores over the -wal of a command that died mid-way, and its undo brings back what that command committed', async () => {
    const p = project();
    const before = rowsOf(p.dbPath);
    const r = await runCli(['--rollback-on-failure', '--', process.execPath, path.join(FIXTURES, 'rollback-crashing-writer.mjs'), p.dbPath], { cwd: p.dir });
    expect(r.code, r.stderr).toBe(137);
    // A stale -wal replayed onto the restored file would corrupt it or bring the crashed commits back.
    expect(integrityOf(p.dbPath)).toBe('ok');
    expect(rowsOf(p.dbPath)).toEqual(before);

    const again = await runCli([...undoOfRollback(r.stderr), '--yes'], { cwd: p.dir });
    expect(again.code, again.stderr).toBe(0);
    const names = (rowsOf(p.dbPath) as Array<{ id: number; name: string }>).map((u) => u.name);
    expect(names).toHaveLength(70);
    expect(names.slice(50)).toEqual([...Array(20).keys()].map((i) => `written before the crash ${i}`));
    expect(integrityOf(p.dbPath)).toBe('ok');
  });

  it('restores into the open connection of a process the failed command left running', async () => {
    const p = project();
    const before = rowsOf(p.dbPath);
    const holder = path.join(FIXTURES, 'rollback-holder.mjs');
    // The command starts a long-lived process on the database (as a crashed job's worker might), waits until
    // it has the database open, deletes everything, and fails.
    const script = [
      `"${process.execPath}" "${holder}" "$0" "$1" >/dev/null 2>&1 &`,
      'while [ ! -f "$1/holder.pid" ]; do sleep 0.02; done',
      'sqlite3 "$0" "DELETE FROM users"',
      'exit 4',
    ].join('\n');
    cleanups.unshift(() => {
      const pidFile = path.join(p.dir, 'holder.pid');
      if (!existsSync(pidFile)) return;
      try {
        process.kill(Number(readFileSync(pidFile, 'utf8')), 'SIGKILL'); // the holder this test started
      } catch {
        // it finished
      }
    });
    const r = await runCli(['--rollback-on-failure', '--', 'sh', '-c', script, p.dbPath, p.dir], { cwd: p.dir });
    expect(r.code, r.stderr).toBe(4);
    const { run, rollback } = runAndItsRollback(await logOf(p.dir));
    expect(run.autoRollback?.ok, r.stderr).toBe(true);
    // Renaming a file over one that a process has open leaves that process on the old, deleted file.
    expect(rollback!.restored!.map((x) => x.method)).toEqual(['backup-api']);

    writeFileSync(path.join(p.dir, 'check'), '');
    const seenFile = path.join(p.dir, 'seen.json');
    for (let t0 = Date.now(); !existsSync(seenFile) && Date.now() - t0 < 20_000; ) await new Promise((res) => setTimeout(res, 20));
    const seen = JSON.parse(readFileSync(seenFile, 'utf8')) as { rows: unknown[]; integrity: string };
    expect(seen.integrity).toBe('ok');
    expect(seen.rows).toEqual(before);
    expect(rowsOf(p.dbPath)).toEqual(before);
    expect(integrityOf(p.dbPath)).toBe('ok');
  });
});
