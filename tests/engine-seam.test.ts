// The engine seam as a user meets it: engines chosen by URL, backups reopened by the engine that took
// them, manual backups logged like runs, every command's options known to the verb finder.
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { COMMAND_OPTIONS } from '../src/cli/options.js';
import type { RunRecord } from '../src/oplog/run-record.js';
import { rowsOf, runCli, tempProject } from './helpers/cli.js';

const cleanups: Array<() => void> = [];
afterAll(() => cleanups.splice(0).forEach((c) => c()));
const project = () => {
  const p = tempProject('safe-run-seam-');
  cleanups.push(p.cleanup);
  return p;
};

describe('engines by URL scheme', () => {
  it('refuses a URL no engine takes, in one line that names the ones it knows, and runs nothing', async () => {
    const p = project();
    writeFileSync(path.join(p.dir, 'safe-run.config.json'), JSON.stringify({ databases: [{ name: 'cache', url: 'redis://127.0.0.1:6379/0' }] }));
    const r = await runCli(['--', 'touch', 'ran'], { cwd: p.dir });
    expect(r.code).toBe(125);
    expect(r.stderr).toMatch(/safe-run: database "cache": redis:\/\/ databases are not supported/);
    expect(r.stderr).toMatch(/try: .*sqlite:\/\//);
    expect(r.stderr).not.toMatch(/bug/);
  });

  it('reopens a backup with the engine its manifest names, and refuses one no engine here can open', async () => {
    const p = project();
    const taken = await runCli(['backup', '--json'], { cwd: p.dir });
    expect(taken.code, taken.stderr).toBe(0);
    const backup = (JSON.parse(taken.stdout) as Array<{ id: string; path: string }>)[0]!;
    const manifestFile = path.join(path.dirname(backup.path), 'manifest.json');
    const manifest = JSON.parse(readFileSync(manifestFile, 'utf8')) as { engine: string };
    expect(manifest.engine).toBe('sqlite');
    writeFileSync(manifestFile, JSON.stringify({ ...manifest, engine: 'oracle' }));
    const before = rowsOf(p.dbPath);
    const r = await runCli(['restore', backup.id, '--yes'], { cwd: p.dir });
    expect(r.code).toBe(4);
    expect(r.stderr).toMatch(/backups of oracle databases cannot be opened by this version of safe-run/);
    expect(rowsOf(p.dbPath)).toEqual(before);
  });
});

describe('a manual backup', () => {
  it('is logged like a run: kind backup, its backup referenced, and show says how to restore it', async () => {
    const p = project();
    const taken = await runCli(['backup', '--reason', 'before the import', '--json'], { cwd: p.dir });
    expect(taken.code, taken.stderr).toBe(0);
    const backupId = (JSON.parse(taken.stdout) as Array<{ id: string }>)[0]!.id;
    const log = await runCli(['log', '--json'], { cwd: p.dir });
    const runs = JSON.parse(log.stdout) as RunRecord[];
    expect(runs).toHaveLength(1);
    expect(runs[0]).toMatchObject({ kind: 'backup', status: 'succeeded', reason: 'before the import', exitCode: 0 });
    expect(runs[0]!.backups.map((b) => [b.id, b.engine])).toEqual([[backupId, 'sqlite']]);
    const shown = await runCli(['show', 'last'], { cwd: p.dir });
    expect(shown.stdout).toMatch(new RegExp(`restore\\s+safe-run -C \\S+ restore ${backupId}$`, 'm')); // pasteable anywhere
    expect(shown.stdout).not.toMatch(/undo/);
  });

  it('that fails is logged as aborted, with exit 3', async () => {
    const p = project();
    writeFileSync(p.dbPath, 'not a database, just text\n'.repeat(100));
    const r = await runCli(['backup'], { cwd: p.dir });
    expect(r.code).toBe(3);
    const runs = JSON.parse((await runCli(['log', '--json'], { cwd: p.dir })).stdout) as RunRecord[];
    expect(runs.map((x) => [x.kind, x.status])).toEqual([['backup', 'aborted']]);
  });
});

describe('options declared once', () => {
  // Every value option of every command may stand before the command's name: its value is never taken
  // for the command (a value option missing from main.ts's list used to make "x" the command).
  const cases = Object.entries(COMMAND_OPTIONS)
    .filter(([cmd]) => cmd !== 'run')
    .flatMap(([cmd, spec]) =>
      Object.entries(spec as Record<string, { type: string }>)
        .filter(([, o]) => o.type === 'string')
        .map(([name]) => [cmd, name] as const),
    );
  it.each(cases)('%s: --%s VALUE before the command name', async (cmd, name) => {
    const p = project();
    const r = await runCli([`--${name}`, 'x', cmd, '--help'], { cwd: p.dir });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout.startsWith(`safe-run ${cmd} `)).toBe(true);
  });
});

describe('engine options in the config', () => {
  it('a strategy on a SQLite database is a config error that says strategies are for servers', async () => {
    const p = project();
    writeFileSync(path.join(p.dir, 'safe-run.config.json'), JSON.stringify({ databases: [{ name: 'app', url: 'data/app.db', strategy: 'clone' }] }));
    const r = await runCli(['--', 'touch', 'ran'], { cwd: p.dir });
    expect(r.code).toBe(125);
    expect(r.stderr).toMatch(/SQLite has no backup strategies to choose from/);
    expect(r.stderr).toMatch(/try: remove "strategy"/);
  });
});
