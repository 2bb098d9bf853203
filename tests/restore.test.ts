// Restore and rollback: a damaged or missing backup is refused with the live database untouched; a
// restore asks for --yes without a terminal, never lands on another database by accident, works under
// an open connection, keeps WAL mode, and is itself logged and undoable.
import { afterAll, describe, expect, it } from 'vitest';
import { spawn, execFileSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync, openSync, readdirSync, readFileSync, readSync, closeSync, rmSync, writeSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { FIXTURES, integrityOf, makeSampleDb, rollbackLine, rowsOf, runCli, tempProject } from './helpers/cli.js';

// Tests run concurrently (each in its own project), so projects are removed once all are done.
const projects: Array<{ cleanup: () => void }> = [];
const holders: ChildProcessWithoutNullStreams[] = [];
afterAll(() => {
  holders.splice(0).forEach((h) => h.kill('SIGKILL'));
  projects.splice(0).forEach((p) => p.cleanup());
});

function project(): ReturnType<typeof tempProject> {
  const p = tempProject('safe-run-restore-');
  projects.push(p);
  return p;
}

interface BackupJson {
  id: string;
  path: string;
  kind: string;
  runId: string | null;
}

interface RunJson {
  id: string;
  kind: string;
  status: string;
  rollbackCommand: string | null;
  backups: Array<{ id: string }>;
}

async function listOf(cwd: string): Promise<BackupJson[]> {
  const list = await runCli(['list', '--json'], { cwd });
  expect(list.code, list.stderr).toBe(0);
  return JSON.parse(list.stdout) as BackupJson[];
}

async function logOf(cwd: string): Promise<RunJson[]> {
  const log = await runCli(['log', '--json'], { cwd });
  expect(log.code, log.stderr).toBe(0);
  return JSON.parse(log.stdout) as RunJson[];
}

/** A guarded run that deletes users; returns its run id and its backup. */
async function runThatDeletes(p: { dir: string; dbPath: string }, where: string): Promise<{ runId: string; backup: BackupJson }> {
  const run = await runCli(['--', 'sqlite3', p.dbPath, `DELETE FROM users WHERE ${where}`], { cwd: p.dir });
  expect(run.code, run.stderr).toBe(0);
  const runId = rollbackLine(run.stderr).split(' ').at(-1)!;
  const backup = (await listOf(p.dir)).find((b) => b.runId === runId)!;
  expect(backup).toBeDefined();
  return { runId, backup };
}

/** The live database as a user could compare it: the bytes of each file of it, and what sits beside it. */
function snapshotOf(dbPath: string): { files: string[]; bytes: Record<string, string> } {
  const dir = path.dirname(dbPath);
  const files = readdirSync(dir).sort();
  const bytes: Record<string, string> = {};
  for (const f of files.filter((f) => f.startsWith(path.basename(dbPath)) && !f.endsWith('.safe-run-lock'))) {
    bytes[f] = readFileSync(path.join(dir, f)).toString('base64');
  }
  return { files, bytes };
}

/** Invert 16 bytes in the middle of a file, the way a bad disk sector would damage it. */
function flipBytesInTheMiddle(file: string): void {
  const fd = openSync(file, 'r+');
  try {
    const size = readFileSync(file).length;
    const buf = Buffer.alloc(16);
    const at = Math.floor(size / 2) + 100;
    readSync(fd, buf, 0, 16, at);
    for (let i = 0; i < buf.length; i++) buf[i] = buf[i]! ^ 0xff;
    writeSync(fd, buf, 0, 16, at);
  } finally {
    closeSync(fd);
  }
}

function journalModeOf(file: string): string {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    return db.pragma('journal_mode', { simple: true }) as string;
  } finally {
    db.close();
  }
}

/** A separate process with its own connection open on the database; ask() reports what it sees. */
function holdOpen(dbPath: string) {
  const child = spawn(process.execPath, [path.join(FIXTURES, 'restore-hold-open.mjs'), dbPath], { stdio: ['pipe', 'pipe', 'pipe'] });
  holders.push(child);
  const lines: string[] = [];
  const waiting: Array<(line: string) => void> = [];
  let buffered = '';
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  child.stdout.on('data', (d) => {
    buffered += d;
    for (let i = buffered.indexOf('\n'); i >= 0; i = buffered.indexOf('\n')) {
      const line = buffered.slice(0, i);
      buffered = buffered.slice(i + 1);
      const waiter = waiting.shift();
      if (waiter) waiter(line);
      else lines.push(line);
    }
  });
  const next = () =>
    new Promise<{ rows: number; journalMode: string }>((resolve, reject) => {
      const onLine = (line: string) => resolve(JSON.parse(line));
      const early = lines.shift();
      if (early !== undefined) return onLine(early);
      waiting.push(onLine);
      child.once('close', () => reject(new Error(`the holding process ended: ${stderr}`)));
    });
  return {
    pid: child.pid!,
    opened: next(),
    ask: () => {
      child.stdin.write('\n');
      return next();
    },
    close: () => new Promise<void>((resolve) => (child.once('close', () => resolve()), child.stdin.end())),
  };
}

describe.concurrent('a backup that is damaged or gone', () => {
  it('is refused by rollback --yes with exit 4, a reason, and the live database byte-for-byte unchanged', async () => {
    const p = project();
    const { runId, backup } = await runThatDeletes(p, 'id > 10');
    flipBytesInTheMiddle(backup.path);
    const live = snapshotOf(p.dbPath);

    const rb = await runCli(['rollback', runId, '--yes'], { cwd: p.dir });
    expect(rb.code).toBe(4);
    expect(rb.stderr).toMatch(/refusing to restore .*: (its sha256 does not match|it fails the integrity check)/);
    expect(rb.stderr).toContain(backup.id);
    expect(snapshotOf(p.dbPath)).toEqual(live);
    expect((await listOf(p.dir)).filter((b) => b.kind === 'pre-restore')).toEqual([]);
  });

  it('is refused by restore --yes with exit 4, a reason, and the live database byte-for-byte unchanged', async () => {
    const p = project();
    const { backup } = await runThatDeletes(p, 'id > 10');
    flipBytesInTheMiddle(backup.path);
    const live = snapshotOf(p.dbPath);

    const restore = await runCli(['restore', backup.id, '--yes'], { cwd: p.dir });
    expect(restore.code).toBe(4);
    expect(restore.stderr).toMatch(/refusing to restore .*: (its sha256 does not match|it fails the integrity check)/);
    expect(restore.stderr).toMatch(/the live database was not touched/);
    expect(snapshotOf(p.dbPath)).toEqual(live);
    expect((await listOf(p.dir)).filter((b) => b.kind === 'pre-restore')).toEqual([]);
  });

  it('is refused with a clear error naming the missing file when the backup file was deleted', async () => {
    const p = project();
    const { runId, backup } = await runThatDeletes(p, 'id > 10');
    rmSync(backup.path);
    const live = snapshotOf(p.dbPath);

    const restore = await runCli(['restore', backup.id, '--yes'], { cwd: p.dir });
    expect(restore.code).toBe(4);
    expect(restore.stderr).toContain(backup.path);
    expect(restore.stderr).toMatch(/no file/);
    const rb = await runCli(['rollback', runId, '--yes'], { cwd: p.dir });
    expect(rb.code).toBe(4);
    expect(rb.stderr).toContain(backup.path);
    expect(snapshotOf(p.dbPath)).toEqual(live);
  });
});

describe.concurrent('confirmation and target', () => {
  it('asks for --yes without a terminal (exit 2) and changes nothing, for restore and rollback', async () => {
    const p = project();
    const { runId, backup } = await runThatDeletes(p, 'id > 10');
    const live = snapshotOf(p.dbPath);

    const restore = await runCli(['restore', backup.id], { cwd: p.dir });
    expect(restore.code).toBe(2);
    expect(restore.stderr).toContain('--yes');
    const rb = await runCli(['rollback', runId], { cwd: p.dir });
    expect(rb.code).toBe(2);
    expect(rb.stderr).toContain('--yes');

    expect(snapshotOf(p.dbPath)).toEqual(live);
    expect(await listOf(p.dir)).toHaveLength(1);
  });

  it('refuses to restore onto another database named with --db (exit 4, mentions --into), and --into does it', async () => {
    const p = project();
    const before = rowsOf(p.dbPath);
    const { backup } = await runThatDeletes(p, 'id > 10');
    const other = path.join(p.dir, 'data', 'other.db');
    makeSampleDb(other, { rows: 3 });
    const app = snapshotOf(p.dbPath);
    const otherBytes = readFileSync(other);

    const refused = await runCli(['restore', backup.id, '--db', other, '--yes'], { cwd: p.dir });
    expect(refused.code).toBe(4);
    expect(refused.stderr).toContain('--into');
    expect(readFileSync(other).equals(otherBytes)).toBe(true);
    expect(snapshotOf(p.dbPath)).toEqual(app);

    const into = await runCli(['restore', backup.id, '--into', 'data/other.db', '--yes'], { cwd: p.dir });
    expect(into.code, into.stderr).toBe(0);
    expect(rowsOf(other)).toEqual(before);
    expect(integrityOf(other)).toBe('ok');
    expect(rowsOf(p.dbPath)).toHaveLength(10);
  });
});

describe.concurrent('a restore', () => {
  it('succeeds while another process holds the database open, and that connection sees the restored rows', async () => {
    const p = project();
    const before = rowsOf(p.dbPath);
    const { backup } = await runThatDeletes(p, 'id > 10');
    const holder = holdOpen(p.dbPath);
    expect((await holder.opened).rows).toBe(10);

    const restore = await runCli(['restore', backup.id, '--yes'], { cwd: p.dir });
    expect(restore.code, restore.stderr).toBe(0);
    const seen = await holder.ask();
    expect(seen.rows).toBe(before.length);
    await holder.close();
    expect(rowsOf(p.dbPath)).toEqual(before);
    expect(integrityOf(p.dbPath)).toBe('ok');
    expect(journalModeOf(p.dbPath)).toBe('wal');
  });

  it('is logged with its own rollback command, which undoes it', async () => {
    const p = project();
    const before = rowsOf(p.dbPath);
    expect((await runCli(['backup', '--reason', 'known good'], { cwd: p.dir })).code).toBe(0);
    const [manual] = await listOf(p.dir);
    execFileSync('sqlite3', [p.dbPath, 'DELETE FROM users WHERE id > 30; UPDATE users SET balance = 0']);
    const changed = rowsOf(p.dbPath);

    const restore = await runCli(['restore', manual!.id, '--yes'], { cwd: p.dir });
    expect(restore.code, restore.stderr).toBe(0);
    expect(rowsOf(p.dbPath)).toEqual(before);

    const undo = /^undo this restore: (.*)$/m.exec(restore.stderr)?.[1];
    expect(undo).toMatch(/^safe-run -C \S+ rollback [0-9a-f]{12}$/);
    const [record] = (await logOf(p.dir)).filter((r) => r.kind === 'restore');
    expect(record).toMatchObject({ status: 'succeeded', rollbackCommand: undo });
    const safety = (await listOf(p.dir)).filter((b) => b.kind === 'pre-restore');
    expect(safety).toHaveLength(1);
    expect(safety[0]!.runId).toBe(record!.id);
    expect(record!.backups.map((b) => b.id)).toEqual([safety[0]!.id]);

    const undone = await runCli([...undo!.split(' ').slice(1), '--yes'], { cwd: p.dir });
    expect(undone.code, undone.stderr).toBe(0);
    expect(rowsOf(p.dbPath)).toEqual(changed);
    expect(integrityOf(p.dbPath)).toBe('ok');
  });

  it('leaves a database in WAL mode in WAL mode', async () => {
    const p = project();
    expect(journalModeOf(p.dbPath)).toBe('wal');
    const before = rowsOf(p.dbPath);
    const { runId, backup } = await runThatDeletes(p, 'id > 10');
    expect(journalModeOf(backup.path)).toBe('delete'); // so the mode really has to be put back

    const rb = await runCli(['rollback', runId, '--yes'], { cwd: p.dir });
    expect(rb.code, rb.stderr).toBe(0);
    expect(rowsOf(p.dbPath)).toEqual(before);
    expect(journalModeOf(p.dbPath)).toBe('wal');
  });

  it('brings back a database file that the command deleted', async () => {
    const p = project();
    const before = rowsOf(p.dbPath);
    const run = await runCli(['--', 'sh', '-c', 'rm -f data/app.db data/app.db-wal data/app.db-shm'], { cwd: p.dir });
    expect(run.code, run.stderr).toBe(0);
    expect(existsSync(p.dbPath)).toBe(false);

    const rb = await runCli([...rollbackLine(run.stderr).split(' ').slice(1), '--yes'], { cwd: p.dir });
    expect(rb.code, rb.stderr).toBe(0);
    expect(rowsOf(p.dbPath)).toEqual(before);
    expect(integrityOf(p.dbPath)).toBe('ok');
  });
});
