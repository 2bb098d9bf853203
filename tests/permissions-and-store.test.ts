// The backup store and the log are private to their owner whatever the umask, each backup is described
// by a manifest a user can check against the file, and backups are found by any unique prefix of their id.
import { afterAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, realpathSync, statSync } from 'node:fs';
import path from 'node:path';
import { BIN, integrityOf, rowsOf, runCli, runProcess, tempProject, type CliResult } from './helpers/cli.js';

// Tests run concurrently (each in its own project), so projects are removed once all are done.
const projects: Array<{ cleanup: () => void }> = [];
afterAll(() => projects.splice(0).forEach((p) => p.cleanup()));

function project(): ReturnType<typeof tempProject> {
  const p = tempProject('safe-run-store-');
  projects.push(p);
  return p;
}

/** Run the CLI under `umask 000`, the most permissive a user could have. */
function runWithOpenUmask(args: string[], cwd: string): Promise<CliResult> {
  return runProcess('sh', ['-c', 'umask 000; exec "$0" "$@"', process.execPath, BIN, ...args], { cwd });
}

const mode = (file: string) => (statSync(file).mode & 0o777).toString(8);

/** Every file and directory under `dir` (itself included) with its permission bits, e.g. "700 backups". */
function modesUnder(dir: string): string[] {
  const entries = readdirSync(dir, { withFileTypes: true, recursive: true });
  return [
    `${mode(dir)} ${path.basename(dir)}/`,
    ...entries.map((e) => {
      const file = path.join(e.parentPath ?? (e as unknown as { path: string }).path, e.name);
      return `${mode(file)} ${path.relative(path.dirname(dir), file)}${e.isDirectory() ? '/' : ''}`;
    }),
  ];
}

interface BackupJson {
  id: string;
  database: string;
  source: string;
  path: string;
  sha256: string;
  size: number;
  kind: string;
  createdAt: string;
  runId: string | null;
  reason: string | null;
}

async function listOf(cwd: string): Promise<BackupJson[]> {
  const list = await runCli(['list', '--json'], { cwd });
  expect(list.code, list.stderr).toBe(0);
  return JSON.parse(list.stdout) as BackupJson[];
}

function deleteUsers(db: string, where: string): void {
  execFileSync('sqlite3', [db, `DELETE FROM users WHERE ${where}`]);
}

/** The shortest prefix of `id` that no other id starts with. */
function shortestUniquePrefix(id: string, all: string[]): string {
  for (let n = 1; n <= id.length; n++) {
    const prefix = id.slice(0, n);
    if (all.filter((other) => other.startsWith(prefix)).length === 1) return prefix;
  }
  return id;
}

describe.concurrent('permissions', () => {
  it('keeps backups at 0600 and their directories at 0700 under umask 000', async () => {
    const p = project();
    const run = await runWithOpenUmask(['--', 'touch', 'made-by-the-command'], p.dir);
    expect(run.code, run.stderr).toBe(0);
    // The umask really was 000: the command's own new file is world-writable.
    expect(mode(path.join(p.dir, 'made-by-the-command'))).toBe('666');
    const manual = await runWithOpenUmask(['backup', '--reason', 'umask check'], p.dir);
    expect(manual.code, manual.stderr).toBe(0);

    const backups = path.join(p.dir, 'backups');
    const modes = modesUnder(backups);
    expect(modes.filter((m) => m.endsWith('snapshot.sqlite') || m.endsWith('pages.pack'))).toHaveLength(2); // the second backup keeps only its new pages
    for (const m of modes) expect(m).toMatch(m.endsWith('/') ? /^700 / : /^600 /);
  });

  it('leaves the mode of a backups directory that already existed as 0755, and keeps what it writes inside private', async () => {
    const p = project();
    const backups = path.join(p.dir, 'backups');
    mkdirSync(backups);
    chmodSync(backups, 0o755);
    const run = await runWithOpenUmask(['--', 'true'], p.dir);
    expect(run.code, run.stderr).toBe(0);
    expect(mode(backups)).toBe('755');
    for (const m of modesUnder(backups).slice(1)) expect(m).toMatch(m.endsWith('/') ? /^700 / : /^600 /);
  });

  it('keeps the operation log at 0600 in a 0700 directory under umask 000', async () => {
    const p = project();
    const run = await runWithOpenUmask(['--', 'true'], p.dir);
    expect(run.code, run.stderr).toBe(0);
    const log = path.join(p.dir, 'logs', 'operations.json');
    expect(existsSync(log)).toBe(true);
    expect(mode(log)).toBe('600');
    expect(mode(path.dirname(log))).toBe('700');
  });
});

describe.concurrent('the backup store', () => {
  it('describes each backup with a manifest that matches its file and its run', async () => {
    const p = project();
    const before = rowsOf(p.dbPath);
    const t0 = Date.now();
    const run = await runCli(['--', 'sqlite3', p.dbPath, 'DELETE FROM users'], { cwd: p.dir });
    const t1 = Date.now();
    expect(run.code, run.stderr).toBe(0);

    const [backup, ...others] = await listOf(p.dir);
    expect(others).toEqual([]);
    expect(backup!.id).toMatch(/^[0-9a-f]{12}$/);
    expect(backup!.database).toBe('app');
    expect(backup!.source).toBe(realpathSync(p.dbPath));
    expect(path.isAbsolute(backup!.path)).toBe(true);
    expect(backup!.path.startsWith(realpathSync(path.join(p.dir, 'backups')) + path.sep)).toBe(true);
    expect(backup!.sha256).toBe(createHash('sha256').update(readFileSync(backup!.path)).digest('hex'));
    expect(backup!.size).toBe(statSync(backup!.path).size);
    expect(backup!.kind).toBe('pre-run');
    expect(backup!.createdAt).toBe(new Date(backup!.createdAt).toISOString());
    expect(Date.parse(backup!.createdAt)).toBeGreaterThanOrEqual(t0 - 1000);
    expect(Date.parse(backup!.createdAt)).toBeLessThanOrEqual(t1 + 1000);
    // The backup holds the data as it was before the command, and belongs to the run that took it.
    expect(rowsOf(backup!.path)).toEqual(before);
    const log = JSON.parse((await runCli(['log', '--json'], { cwd: p.dir })).stdout) as Array<{ id: string; backups: Array<{ id: string }> }>;
    expect(log).toHaveLength(1);
    expect(backup!.runId).toBe(log[0]!.id);
    expect(log[0]!.backups.map((b) => b.id)).toEqual([backup!.id]);
  });

  it('takes a manual backup that keeps its reason, and restores it with restore <id> --yes', async () => {
    const p = project();
    const before = rowsOf(p.dbPath);
    const taken = await runCli(['backup', '--reason', 'before the big import'], { cwd: p.dir });
    expect(taken.code, taken.stderr).toBe(0);
    const [backup] = await listOf(p.dir);
    expect(backup).toMatchObject({ kind: 'manual', reason: 'before the big import', database: 'app' });
    expect(taken.stderr).toMatch(new RegExp(`^restore with: safe-run -C \\S+ restore ${backup!.id}$`, 'm'));
    // A manual backup is logged as a run of its own, which the backup names.
    const runs = JSON.parse((await runCli(['log', '--json'], { cwd: p.dir })).stdout) as Array<{ id: string; kind: string }>;
    expect(runs.map((r) => [r.id, r.kind])).toEqual([[backup!.runId, 'backup']]);

    deleteUsers(p.dbPath, 'id > 10');
    expect(rowsOf(p.dbPath)).toHaveLength(10);
    const restored = await runCli(['restore', backup!.id, '--yes'], { cwd: p.dir });
    expect(restored.code, restored.stderr).toBe(0);
    expect(rowsOf(p.dbPath)).toEqual(before);
    expect(integrityOf(p.dbPath)).toBe('ok');
  });

  it('finds a backup by the shortest prefix of its id that is unique', async () => {
    const p = project();
    const full = rowsOf(p.dbPath);
    expect((await runCli(['backup', '--reason', 'full'], { cwd: p.dir })).code).toBe(0);
    deleteUsers(p.dbPath, 'id > 50');
    const half = rowsOf(p.dbPath);
    expect((await runCli(['backup', '--reason', 'half'], { cwd: p.dir })).code).toBe(0);
    deleteUsers(p.dbPath, '1');

    for (const [reason, rows] of [['full', full], ['half', half]] as const) {
      const all = await listOf(p.dir);
      const wanted = all.find((b) => b.reason === reason)!;
      const prefix = shortestUniquePrefix(wanted.id, all.map((b) => b.id));
      const restored = await runCli(['restore', prefix, '--yes'], { cwd: p.dir });
      expect(restored.code, restored.stderr).toBe(0);
      expect(rowsOf(p.dbPath)).toEqual(rows);
    }
  });

  it('refuses an unknown backup id with exit 2, a hint where to find the ids, and nothing changed', async () => {
    const p = project();
    expect((await runCli(['backup'], { cwd: p.dir })).code).toBe(0);
    const [backup] = await listOf(p.dir);
    const unknown = backup!.id.startsWith('f') ? '0123456789ab' : 'fedcba987654';
    deleteUsers(p.dbPath, 'id > 10');
    const bytes = readFileSync(p.dbPath);

    const restore = await runCli(['restore', unknown, '--yes'], { cwd: p.dir });
    expect(restore.code).toBe(2);
    expect(restore.stderr).toContain(unknown);
    expect(restore.stderr).toMatch(/try: .*safe-run list/);
    const rollback = await runCli(['rollback', unknown, '--yes'], { cwd: p.dir });
    expect(rollback.code).toBe(2);
    expect(rollback.stderr).toMatch(/try: .*safe-run log/);

    expect(readFileSync(p.dbPath).equals(bytes)).toBe(true);
    expect(await listOf(p.dir)).toHaveLength(1);
  });
});
