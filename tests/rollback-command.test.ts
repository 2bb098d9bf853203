// The rollback command a guarded run prints is meant to be pasted into a shell: it has to survive a
// project path with a space, a single quote and a $, and work from any directory.
import { describe, expect, it } from 'vitest';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { integrityOf, makeSampleDb, rollbackLine, rowsOf, runCli } from './helpers/cli.js';
import { pasteIntoShell, tempDir } from './helpers/paste.js';

/** A project whose path holds a space, a single quote and a $ (and a $HOME that must not expand). */
function awkwardProject(): { dir: string; dbPath: string; config: string } {
  const dir = path.join(tempDir('safe-run-paste-'), "it's my $HOME project");
  const dbPath = path.join(dir, 'data', 'app.db');
  mkdirSync(path.dirname(dbPath), { recursive: true });
  makeSampleDb(dbPath, { rows: 40 });
  const config = path.join(dir, 'safe-run.config.json');
  writeFileSync(config, JSON.stringify({ databases: [{ name: 'app', url: 'data/app.db' }] }));
  return { dir, dbPath, config };
}

describe('the printed rollback command', () => {
  it('works pasted into sh from another directory when the project path has a space, a quote and a $', async () => {
    const p = awkwardProject();
    const before = rowsOf(p.dbPath);
    const run = await runCli(['--config', 'safe-run.config.json', '--', 'sqlite3', 'data/app.db', 'DELETE FROM users WHERE id > 5'], { cwd: p.dir });
    expect(run.code, run.stderr).toBe(0);
    expect(rowsOf(p.dbPath)).toHaveLength(5);

    const undo = rollbackLine(run.stderr);
    // A relative --config would mean nothing elsewhere: the command names the config by its absolute path.
    expect(undo).toMatch(/^safe-run --config '.+' rollback [0-9a-f]{12}$/);
    const elsewhere = tempDir('safe-run-elsewhere-');
    const pasted = await pasteIntoShell(`${undo} --yes`, elsewhere);
    expect(pasted.code, pasted.stderr).toBe(0);
    expect(rowsOf(p.dbPath)).toEqual(before);
    expect(integrityOf(p.dbPath)).toBe('ok');
  });

  it('ends with the id of the run, as the log records it', async () => {
    const p = awkwardProject();
    const run = await runCli(['--config', p.config, '--', 'sqlite3', p.dbPath, 'DELETE FROM users'], { cwd: tempDir('safe-run-elsewhere-') });
    expect(run.code, run.stderr).toBe(0);
    const undo = rollbackLine(run.stderr);
    const log = await runCli(['log', '--json', '--config', p.config], { cwd: p.dir });
    expect(log.code, log.stderr).toBe(0);
    const [entry] = JSON.parse(log.stdout) as Array<{ id: string; rollbackCommand: string }>;
    expect(undo.endsWith(` ${entry!.id}`)).toBe(true);
    expect(entry!.rollbackCommand).toBe(undo);
  });
});

describe('the rollback confirmation', () => {
  it('names the command as the log shows it, quoted, so that sh -c \'…\' is not shown as another command', async () => {
    const p = awkwardProject();
    const run = await runCli(['--', 'sh', '-c', 'exit 0'], { cwd: p.dir });
    expect(run.code, run.stderr).toBe(0);
    const rollback = await runCli(['rollback', 'last', '--yes'], { cwd: p.dir });
    expect(rollback.code, rollback.stderr).toBe(0);
    expect(rollback.stderr).toContain(`Roll back app to its state before "sh -c 'exit 0'" (`);
  });
});
