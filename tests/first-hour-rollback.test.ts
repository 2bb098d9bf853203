// A new user's first rollback: the printed command, pasted into sh in another directory, has to find the
// same log and store and restore the data; when it cannot find a run, it says where it looked.
import { describe, expect, it } from 'vitest';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { integrityOf, makeSampleDb, rollbackLine, rowsOf, runCli, tempProject } from './helpers/cli.js';
import { pasteIntoShell as paste, removeLater, tempDir } from './helpers/paste.js';

/** A directory with one SQLite file and no config: the `safe-run --db PATH` way of trying it out. */
function bareProject(name = 'proj'): { dir: string; dbPath: string } {
  const dir = path.join(tempDir('safe-run-bare-'), name);
  mkdirSync(dir, { recursive: true });
  const dbPath = path.join(dir, 'app.db');
  makeSampleDb(dbPath, { rows: 20 });
  return { dir, dbPath };
}

const lastRunId = (dir: string) => (JSON.parse(readFileSync(path.join(dir, 'logs', 'operations.json'), 'utf8')) as { runs: Array<{ id: string }> }).runs.at(-1)!.id;

describe('the rollback command printed after a run', () => {
  it('restores the data when pasted into sh in another directory, after a run with --db PATH and no config', async () => {
    const p = bareProject();
    const before = rowsOf(p.dbPath);
    const run = await runCli(['--db', 'app.db', '--', 'sqlite3', 'app.db', 'DELETE FROM users'], { cwd: p.dir });
    expect(run.code, run.stderr).toBe(0);
    const undo = rollbackLine(run.stderr);
    expect(undo).toBe(`safe-run -C ${p.dir} rollback ${lastRunId(p.dir)}`);

    const pasted = await paste(`${undo} --yes`, tempDir('safe-run-elsewhere-'));
    expect(pasted.code, pasted.stderr).toBe(0);
    expect(rowsOf(p.dbPath)).toEqual(before);
    expect(integrityOf(p.dbPath)).toBe('ok');
  });

  it('restores the data when pasted elsewhere, after a run in a subdirectory that found the config above it', async () => {
    const p = tempProject('safe-run-sub-', { rows: 20 });
    removeLater(p.dir);
    const before = rowsOf(p.dbPath);
    const sub = path.join(p.dir, 'scripts');
    mkdirSync(sub);
    const run = await runCli(['--', 'sqlite3', p.dbPath, 'DELETE FROM users'], { cwd: sub });
    expect(run.code, run.stderr).toBe(0);
    const undo = rollbackLine(run.stderr);
    expect(undo).toMatch(new RegExp(`^safe-run -C ${p.dir} rollback [0-9a-f]{12}$`));

    const pasted = await paste(`${undo} --yes`, tempDir('safe-run-elsewhere-'));
    expect(pasted.code, pasted.stderr).toBe(0);
    expect(rowsOf(p.dbPath)).toEqual(before);
  });

  it('stays one line and still restores when the config path holds a newline and an escape character', async () => {
    const dir = path.join(tempDir('safe-run-nl-'), 'my\nproject\x1b[2J');
    mkdirSync(path.join(dir, 'data'), { recursive: true });
    const dbPath = path.join(dir, 'data', 'app.db');
    makeSampleDb(dbPath, { rows: 10 });
    const config = path.join(dir, 'safe-run.config.json');
    writeFileSync(config, JSON.stringify({ databases: [{ name: 'app', url: 'data/app.db' }] }));
    const before = rowsOf(dbPath);

    const run = await runCli(['--config', config, '--', 'sqlite3', dbPath, 'DELETE FROM users'], { cwd: tempDir('safe-run-elsewhere-') });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).not.toContain('\x1b');
    const undo = rollbackLine(run.stderr);
    expect(undo).toMatch(/^safe-run --config "\$\(printf '.*my\\nproject\\033\[2J\/safe-run.config.json'\)" rollback [0-9a-f]{12}$/);

    const pasted = await paste(`${undo} --yes`, tempDir('safe-run-elsewhere-'));
    expect(pasted.code, pasted.stderr).toBe(0);
    expect(rowsOf(dbPath)).toEqual(before);
  });
});

describe('a rollback that finds no run', () => {
  it('says which log it read, why that one, and what to pass, with exit 2', async () => {
    const p = bareProject();
    const run = await runCli(['--db', 'app.db', '--', 'true'], { cwd: p.dir });
    expect(run.code, run.stderr).toBe(0);
    const id = lastRunId(p.dir);
    const elsewhere = tempDir('safe-run-elsewhere-');

    const r = await runCli(['rollback', id, '--yes'], { cwd: elsewhere });
    expect(r.code).toBe(2);
    const log = path.join(elsewhere, 'logs', 'operations.json');
    expect(r.stderr).toContain(`safe-run: no run with id ${id} in ${log}, which does not exist (the default log of this directory: no safe-run.config.json in ${elsewhere} or above)`);
    expect(r.stderr).toContain(`try: see the ids with: safe-run log; for a run made in another project, name it: safe-run -C <project dir> rollback ${id} (or --config <file>)`);
    expect(r.stderr).not.toMatch(/no runs with backups yet/);

    const last = await runCli(['rollback', 'last'], { cwd: elsewhere });
    expect(last.code).toBe(2);
    expect(last.stderr).toContain(`safe-run: no runs with backups in ${log}`);
  });

  it('refuses -C with a directory that does not exist in one line, exit 2', async () => {
    const r = await runCli(['-C', '/nonexistent/project', 'rollback', 'last'], { cwd: os.tmpdir() });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^safe-run: -C \/nonexistent\/project: no such directory\n  try: /);
  });
});

describe('without a terminal', () => {
  it('rollback without --yes prints the whole command to paste, and that command restores', async () => {
    const p = bareProject();
    const before = rowsOf(p.dbPath);
    const run = await runCli(['--db', 'app.db', '--', 'sqlite3', 'app.db', 'DELETE FROM users'], { cwd: p.dir });
    expect(run.code, run.stderr).toBe(0);
    const id = lastRunId(p.dir);

    const r = await runCli(['rollback', id.slice(0, 6)], { cwd: p.dir });
    expect(r.code).toBe(2);
    expect(r.stderr).not.toContain('…');
    const hint = /try: to go ahead without a terminal, run: (.*)$/m.exec(r.stderr);
    expect(hint?.[1]).toBe(`safe-run -C ${p.dir} rollback ${id} --yes`);
    expect(rowsOf(p.dbPath)).toHaveLength(0);

    const pasted = await paste(hint![1]!, tempDir('safe-run-elsewhere-'));
    expect(pasted.code, pasted.stderr).toBe(0);
    expect(rowsOf(p.dbPath)).toEqual(before);
  });

  it('restore <backup-id> without --yes prints the whole command to paste, with --into', async () => {
    const p = bareProject();
    const backup = await runCli(['backup', '--db', 'app.db', '--json'], { cwd: p.dir });
    expect(backup.code, backup.stderr).toBe(0);
    const backupId = (JSON.parse(backup.stdout) as Array<{ id: string }>)[0]!.id;
    const copy = path.join(p.dir, 'copy.db');
    makeSampleDb(copy, { rows: 1 });

    const r = await runCli(['restore', backupId, '--into', 'copy.db'], { cwd: p.dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`try: to go ahead without a terminal, run: safe-run -C ${p.dir} restore ${backupId} --into ${copy} --yes`);
  });
});
