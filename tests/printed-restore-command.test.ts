// The restore commands safe-run prints are meant to be pasted, like the rollback command: from any directory
// they restore that backup onto the target that was meant (--into included), with --yes without a terminal.
import { describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import path from 'node:path';
import { rowsOf, runCli, tempProject } from './helpers/cli.js';
import { pasteIntoShell, removeLater, tempDir } from './helpers/paste.js';

describe('restore --dry-run', () => {
  it('prints a command that, pasted into sh elsewhere, restores that backup --into the previewed file', async () => {
    const p = tempProject('safe-run-dry-run-cmd-', { rows: 20 });
    removeLater(p.dir);
    const backup = await runCli(['backup', '--json'], { cwd: p.dir });
    expect(backup.code, backup.stderr).toBe(0);
    const backupRows = rowsOf(p.dbPath);
    const db = new Database(p.dbPath);
    db.exec('DELETE FROM users WHERE id > 5');
    db.close();
    const liveRows = rowsOf(p.dbPath);
    const [{ id }] = JSON.parse((await runCli(['list', '--json'], { cwd: p.dir })).stdout) as Array<{ id: string }>;

    const dry = await runCli(['restore', id!.slice(0, 8), '--into', 'copy/other.db', '--dry-run'], { cwd: p.dir });
    expect(dry.code, dry.stderr).toBe(0);
    const line = /to restore it: (.*)$/m.exec(dry.stderr)?.[1];
    expect(line, dry.stderr).toBe(`safe-run -C ${p.dir} restore ${id} --into ${path.join(p.dir, 'copy', 'other.db')} --yes`);

    const pasted = await pasteIntoShell(line!, tempDir('safe-run-elsewhere-'));
    expect(pasted.code, pasted.stderr).toBe(0);
    expect(rowsOf(path.join(p.dir, 'copy', 'other.db'))).toEqual(backupRows);
    expect(rowsOf(p.dbPath)).toEqual(liveRows); // the backup's own database was not the target
  });

  it('backup prints a restore command that works pasted into sh from another directory', async () => {
    const p = tempProject('safe-run-backup-cmd-', { rows: 20 });
    removeLater(p.dir);
    const backup = await runCli(['backup'], { cwd: p.dir });
    expect(backup.code, backup.stderr).toBe(0);
    const before = rowsOf(p.dbPath);
    const db = new Database(p.dbPath);
    db.exec('DELETE FROM users');
    db.close();
    const line = /^restore with: (.*)$/m.exec(backup.stderr)?.[1];
    expect(line, backup.stderr).toMatch(new RegExp(`^safe-run -C ${p.dir} restore [0-9a-f]{12}$`));
    const pasted = await pasteIntoShell(`${line} --yes`, tempDir('safe-run-elsewhere-'));
    expect(pasted.code, pasted.stderr).toBe(0);
    expect(rowsOf(p.dbPath)).toEqual(before);
  });
});

describe('rollback --dry-run', () => {
  it('prints the rollback command with the project and, without a terminal, --yes: pasted elsewhere it rolls back', async () => {
    const p = tempProject('safe-run-rollback-dry-', { rows: 20 });
    removeLater(p.dir);
    const before = rowsOf(p.dbPath);
    const run = await runCli(['--', 'sqlite3', 'data/app.db', 'DELETE FROM users WHERE id > 3'], { cwd: p.dir });
    expect(run.code, run.stderr).toBe(0);
    const dry = await runCli(['rollback', 'last', '--dry-run'], { cwd: p.dir });
    expect(dry.code, dry.stderr).toBe(0);
    const line = /to roll back: (.*)$/m.exec(dry.stderr)?.[1];
    expect(line, dry.stderr).toMatch(new RegExp(`^safe-run -C ${p.dir} rollback [0-9a-f]{12} --yes$`));
    expect(rowsOf(p.dbPath)).toHaveLength(3);
    const pasted = await pasteIntoShell(line!, tempDir('safe-run-elsewhere-'));
    expect(pasted.code, pasted.stderr).toBe(0);
    expect(rowsOf(p.dbPath)).toEqual(before);
  });
});

describe('restore without an id or a terminal', () => {
  it('names the project in the commands it suggests, so that they work from another directory', async () => {
    const p = tempProject('safe-run-no-id-', { rows: 5 });
    removeLater(p.dir);
    expect((await runCli(['backup'], { cwd: p.dir })).code).toBe(0);
    const r = await runCli(['-C', p.dir, 'restore'], { cwd: tempDir('safe-run-elsewhere-') });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`try: safe-run -C ${p.dir} restore <backup-id> --yes`);
    const list = /see the ids with: (.*)$/m.exec(r.stderr)?.[1];
    expect(list).toBe(`safe-run -C ${p.dir} list`);
    const listed = await pasteIntoShell(list!, tempDir('safe-run-elsewhere-'));
    expect(listed.stdout).toMatch(/^1 backup: 1 manual/m);
  });
});
