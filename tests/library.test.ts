// withBackup, the library API, from the built package: it guards a function as the CLI guards a command.
import Database from 'better-sqlite3';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { integrityOf, ROOT, rowsOf, runCli, tempProject } from './helpers/cli.js';

type WithBackup = (
  options: { databases?: string[]; reason?: string; cwd?: string; rollbackOnError?: boolean; waitMs?: number },
  fn: () => unknown,
) => Promise<{
  id: string;
  kind: string;
  status: string;
  result: unknown;
  exitCode?: number | null;
  backups: Array<{ id: string; database: string; path: string; sha256: string; size: number }>;
  autoRollback?: { ok: boolean; restoreRunId?: string };
}>;

interface LoggedRun {
  id: string;
  kind: string;
  status: string;
  reason: string | null;
  backups: Array<{ id: string; path: string; sha256: string }>;
  restored: Array<{ backupId: string; method?: string }> | null;
  autoRollback: { ok: boolean; restoreRunId?: string } | null;
  error: string | null;
}

let withBackup: WithBackup;
beforeAll(async () => {
  // The built output, as a user of the package gets it (npm test builds it first).
  ({ withBackup } = (await import(pathToFileURL(path.join(ROOT, 'dist', 'index.js')).href)) as { withBackup: WithBackup });
});

const projects: Array<{ cleanup: () => void }> = [];
afterEach(() => projects.splice(0).forEach((p) => p.cleanup()));

const sha256Of = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');

function exec(file: string, sql: string) {
  const db = new Database(file, { fileMustExist: true });
  try {
    db.exec(sql);
  } finally {
    db.close();
  }
}

/** The error a promise rejects with; fails if it resolves. */
async function rejectionOf<E>(promise: Promise<unknown>): Promise<E> {
  try {
    await promise;
  } catch (err) {
    return err as E;
  }
  throw new Error('expected a rejection, but it resolved');
}

async function logOf(cwd: string): Promise<LoggedRun[]> {
  const r = await runCli(['log', '--json'], { cwd });
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as LoggedRun[];
}

describe('withBackup', () => {
  it('backs up, runs the function, and resolves to the logged run record with its result', async () => {
    const p = tempProject('safe-run-lib-');
    projects.push(p);
    const before = rowsOf(p.dbPath);
    let ran = 0;
    const run = await withBackup({ databases: [p.dbPath], reason: 'x', cwd: p.dir }, async () => {
      ran++;
      exec(p.dbPath, 'DELETE FROM users WHERE id > 10');
      return 'deleted';
    });
    expect(ran).toBe(1);
    expect(run.id).toMatch(/^[0-9a-f]{12}$/);
    expect(run.kind).toBe('library');
    expect(run.status).toBe('succeeded');
    expect(run.result).toBe('deleted');
    expect(run.backups).toHaveLength(1);
    const [backup] = run.backups;
    expect(backup!.database).toBe('app');
    expect(backup!.sha256).toBe(sha256Of(backup!.path));
    // The backup is of the database before the function; the function's change stays.
    expect(rowsOf(backup!.path)).toEqual(before);
    expect(rowsOf(p.dbPath)).toHaveLength(10);

    const log = await logOf(p.dir);
    expect(log).toHaveLength(1);
    expect(log[0]).toMatchObject({ id: run.id, kind: 'library', status: 'succeeded', reason: 'x' });
    expect(log[0]!.backups.map((b) => [b.id, b.sha256])).toEqual([[backup!.id, backup!.sha256]]);
  });

  it('with rollbackOnError, rethrows the error with the run attached and puts the rows back', async () => {
    const p = tempProject('safe-run-lib-rb-');
    projects.push(p);
    const before = rowsOf(p.dbPath);
    const boom = new Error('boom');
    const err = await rejectionOf<Error & { run?: { id: string; status: string; autoRollback?: { ok: boolean; restoreRunId?: string } } }>(
      withBackup({ databases: [p.dbPath], reason: 'clean-up', cwd: p.dir, rollbackOnError: true }, async () => {
        exec(p.dbPath, 'DELETE FROM users');
        throw boom;
      }),
    );
    expect(err).toBe(boom);
    expect(err.run?.status).toBe('failed');
    expect(err.run?.autoRollback?.ok).toBe(true);
    expect(rowsOf(p.dbPath)).toEqual(before);
    expect(integrityOf(p.dbPath)).toBe('ok');

    const log = await logOf(p.dir);
    const failed = log.find((r) => r.id === err.run!.id)!;
    expect(failed).toMatchObject({ kind: 'library', status: 'failed' });
    expect(failed.autoRollback).toMatchObject({ ok: true, restoreRunId: err.run!.autoRollback!.restoreRunId });
    const rollback = log.find((r) => r.id === failed.autoRollback!.restoreRunId)!;
    expect(rollback).toMatchObject({ kind: 'rollback', status: 'succeeded' });
    expect(rollback.restored!.map((r) => r.backupId)).toEqual([failed.backups[0]!.id]);
  });

  it('with rollbackOnError, puts the rows back under the caller\'s own open connection, which then sees them', async () => {
    const p = tempProject('safe-run-lib-open-');
    projects.push(p);
    // An application keeps its connection for its whole life, in the very process that calls withBackup.
    const db = new Database(p.dbPath);
    try {
      db.pragma('journal_mode = WAL');
      const before = db.prepare('SELECT * FROM users ORDER BY id').all();
      const err = await rejectionOf<Error & { run?: { autoRollback?: { ok: boolean } } }>(
        withBackup({ databases: [p.dbPath], cwd: p.dir, rollbackOnError: true }, () => {
          db.exec('DELETE FROM users WHERE id % 3 = 0');
          db.exec("UPDATE users SET name = 'renamed'");
          throw new Error('half-way');
        }),
      );
      expect(err).toBeInstanceOf(Error);
      expect(err.message).toBe('half-way');
      expect(err.run?.autoRollback?.ok).toBe(true);
      // Through the same connection, without reopening: the rollback went into the file it has open.
      expect(db.prepare('SELECT * FROM users ORDER BY id').all()).toEqual(before);
      expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
      db.prepare('INSERT INTO users (name, balance) VALUES (?, ?)').run('still writable', 1);
    } finally {
      db.close();
    }
    // It had to go in through SQLite (a rename would have left this process on the old, unlinked file).
    const rollback = (await logOf(p.dir)).find((r) => r.kind === 'rollback')!;
    expect(rollback.restored!.map((r) => r.method)).toEqual(['backup-api']);
    expect(rowsOf(p.dbPath)).toHaveLength(101);
    expect(integrityOf(p.dbPath)).toBe('ok');
  });

  it('rejects when the backup fails, and the function never runs', async () => {
    const p = tempProject('safe-run-lib-bad-');
    projects.push(p);
    const notADb = path.join(p.dir, 'data', 'notes.db');
    writeFileSync(notADb, 'these are not the pages of a SQLite database\n'.repeat(200));
    let ran = false;
    const err = await rejectionOf<Error & { kind?: string }>(
      withBackup({ databases: [notADb], cwd: p.dir }, () => {
        ran = true;
      }),
    );
    expect(err).toBeInstanceOf(Error);
    expect(err.name).toBe('SafeRunError');
    expect(err.kind).toBe('backup');
    expect(err.message).toMatch(/notes/);
    expect(ran).toBe(false);
    expect(readFileSync(notADb, 'utf8')).toBe('these are not the pages of a SQLite database\n'.repeat(200));
    // Nothing half-made in the store, and the attempt is in the log as aborted.
    const list = await runCli(['list', '--json'], { cwd: p.dir });
    expect(JSON.parse(list.stdout)).toEqual([]);
    const storeDirs = readdirSync(path.join(p.dir, 'backups'), { recursive: true }) as string[];
    expect(storeDirs.filter((n) => n.includes('.tmp-'))).toEqual([]);
    const log = await logOf(p.dir);
    expect(log.map((r) => r.status)).toEqual(['aborted']);
  });
});
