// The interactive restore, driven in a real pseudo-terminal (tmux), and rollback's list of later runs.
import { afterEach, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { makeSampleDb, rowsOf, runCli, tempProject } from './helpers/cli.js';
import { Terminal } from './helpers/terminal.js';

const projects: Array<{ cleanup: () => void }> = [];
afterEach(() => {
  Terminal.killAll();
  projects.splice(0).forEach((p) => p.cleanup());
});

const sha256 = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');

/**
 * Two databases, app and crm, each with a manual backup "before import" of 100 users; then crm lost
 * 60 rows outside safe-run, and a guarded run deleted 50 rows of app (taking pre-run backups of both).
 */
async function twoDatabases() {
  const p = tempProject('safe-run-wizard-');
  projects.push(p);
  const crmPath = path.join(p.dir, 'data', 'crm.db');
  makeSampleDb(crmPath, { rows: 100 });
  writeFileSync(
    path.join(p.dir, 'safe-run.config.json'),
    JSON.stringify({ databases: [{ name: 'app', url: 'data/app.db' }, { name: 'crm', url: 'data/crm.db' }] }),
  );
  const original = { app: rowsOf(p.dbPath), crm: rowsOf(crmPath) };
  expect((await runCli(['backup', '--reason', 'before import'], { cwd: p.dir })).code).toBe(0);
  const crm = new Database(crmPath);
  crm.exec('DELETE FROM users WHERE id > 40');
  crm.close();
  const run = await runCli(['--', 'sqlite3', p.dbPath, 'DELETE FROM users WHERE id > 50'], { cwd: p.dir });
  expect(run.code).toBe(0);
  /**
   * Everything a cancelled or refused restore must leave as it was. A -shm (and empty -wal) may appear
   * when the preview reads a WAL database; the rows and the main file say the data did not change.
   */
  const state = () => ({
    app: sha256(p.dbPath),
    crm: sha256(crmPath),
    rows: [rowsOf(p.dbPath), rowsOf(crmPath)],
    data: readdirSync(path.join(p.dir, 'data'))
      .filter((f) => !/-(shm|wal)$/.test(f))
      .sort(),
    store: ['app', 'crm'].map((db) => readdirSync(path.join(p.dir, 'backups', db)).sort()),
    log: readFileSync(path.join(p.dir, 'logs', 'operations.json'), 'utf8'),
  });
  return { ...p, crmPath, original, state };
}

/** Start `restore` and choose crm (second in the list) and its older backup (second, "before import"). */
async function chooseCrmBackup(args: string[] = []) {
  const p = await twoDatabases();
  const before = p.state();
  const term = new Terminal(p.dir, ['restore', ...args]);
  await term.waitFor('Which database?');
  term.keys('Down', 'Enter');
  await term.waitFor('Which backup of crm?');
  term.keys('Down', 'Enter');
  return { p, before, term };
}

describe('restore without an id, on a terminal', () => {
  it('walks through database, backup, preview and typed confirmation, and restores that backup', async () => {
    const { p, term } = await chooseCrmBackup();
    const screen = await term.waitFor('Type "crm" to restore');
    expect(screen).toMatch(/before import/);
    // the diff's lines, or "preview not available …" in a build without it
    expect(screen).toMatch(/^preview {3}\S/m);
    expect(screen).toMatch(/Restore crm \(data\/crm\.db\) to backup [0-9a-f]{8} from .* \(manual\)\?/);
    term.type('crm');
    term.keys('Enter');
    expect(await term.exitCode()).toBe(0);
    const done = term.screen();
    expect(done).toMatch(/restored\s+crm to its state of/);
    expect(done).toMatch(/undo this restore: safe-run -C \S+ rollback [0-9a-f]{12}/);
    expect(rowsOf(p.crmPath)).toEqual(p.original.crm);
    expect(rowsOf(p.dbPath)).toHaveLength(50); // app untouched
  });

  it('changes nothing when the confirmation is something else than the name', async () => {
    const { p, before, term } = await chooseCrmBackup();
    await term.waitFor('Type "crm" to restore');
    term.type('app');
    term.keys('Enter');
    expect(await term.exitCode()).toBe(2);
    expect(term.screen()).toContain('not confirmed; crm was not changed');
    expect(p.state()).toEqual(before);
  });

  it('changes nothing when Enter is pressed at the confirmation', async () => {
    const { p, before, term } = await chooseCrmBackup();
    await term.waitFor('Type "crm" to restore');
    term.keys('Enter');
    expect(await term.exitCode()).toBe(2);
    expect(p.state()).toEqual(before);
  });

  it('exits 130 with nothing changed on Ctrl-C at the choice of database', async () => {
    const p = await twoDatabases();
    const before = p.state();
    const term = new Terminal(p.dir, ['restore']);
    await term.waitFor('Which database?');
    term.keys('C-c');
    expect(await term.exitCode()).toBe(130);
    expect(term.screen()).toContain('cancelled; nothing was changed');
    expect(p.state()).toEqual(before);
  });

  it('exits 130 with nothing changed on Ctrl-C at the choice of backup', async () => {
    const p = await twoDatabases();
    const before = p.state();
    const term = new Terminal(p.dir, ['restore']);
    await term.waitFor('Which database?');
    term.keys('Enter');
    await term.waitFor('Which backup of app?');
    term.keys('Down', 'C-c');
    expect(await term.exitCode()).toBe(130);
    expect(p.state()).toEqual(before);
  });

  it('exits 130 with nothing changed on Ctrl-C at the confirmation', async () => {
    const { p, before, term } = await chooseCrmBackup();
    await term.waitFor('Type "crm" to restore');
    term.type('cr');
    term.keys('C-c');
    expect(await term.exitCode()).toBe(130);
    expect(p.state()).toEqual(before);
  });

  it('with --dry-run shows the preview and changes nothing', async () => {
    const { p, before, term } = await chooseCrmBackup(['--dry-run']);
    expect(await term.exitCode()).toBe(0);
    const screen = term.screen();
    expect(screen).toMatch(/^preview {3}\S/m);
    expect(screen).toMatch(/dry run\s+nothing was changed; to restore it: safe-run -C \S+ restore [0-9a-f]{12}$/m); // no --yes: a terminal asks
    expect(screen).not.toContain('Type "crm"');
    expect(p.state()).toEqual(before);
  });
});

describe('restore without a terminal', () => {
  it('says which arguments it needs and exits 2', async () => {
    const p = await twoDatabases();
    const before = p.state();
    const r = await runCli(['restore'], { cwd: p.dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('restore <backup-id> --yes');
    expect(p.state()).toEqual(before);
  });

  it('with an id and --dry-run shows what would happen and changes nothing', async () => {
    const p = await twoDatabases();
    const before = p.state();
    const manifests = readdirSync(path.join(p.dir, 'backups', 'crm')).map((id) =>
      JSON.parse(readFileSync(path.join(p.dir, 'backups', 'crm', id, 'manifest.json'), 'utf8')),
    );
    const manual = manifests.find((m) => m.kind === 'manual');
    const r = await runCli(['restore', manual.id.slice(0, 6), '--dry-run'], { cwd: p.dir });
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/Restore crm \(data\/crm\.db\) to backup/);
    expect(r.stderr).toContain('dry run');
    expect(p.state()).toEqual(before);
  });
});

describe('rollback of a run that later runs followed', () => {
  async function threeRuns() {
    const p = tempProject('safe-run-later-');
    projects.push(p);
    const original = rowsOf(p.dbPath);
    const ids: string[] = [];
    for (const sql of ['DELETE FROM users WHERE id > 90', 'DELETE FROM users WHERE id > 80', 'UPDATE users SET balance = 0']) {
      const r = await runCli(['--', 'sqlite3', 'data/app.db', sql], { cwd: p.dir });
      expect(r.code).toBe(0);
      ids.push(/safe-run -C \S+ rollback ([0-9a-f]{12})/.exec(r.stderr)![1]!);
    }
    return { ...p, original, ids };
  }

  it('lists the later runs it also undoes, also with --yes', async () => {
    const p = await threeRuns();
    const r = await runCli(['rollback', p.ids[0]!, '--yes'], { cwd: p.dir });
    expect(r.code).toBe(0);
    const line = r.stderr.split('\n').find((l) => l.includes('later runs on app that this also undoes'))!;
    expect(line).toMatch(/: 2 \(/);
    expect(line).toContain(`${p.ids[1]!.slice(0, 4)} sqlite3`);
    expect(line).toContain(`${p.ids[2]!.slice(0, 4)} sqlite3`);
    expect(line.length).toBeLessThanOrEqual(80);
    expect(rowsOf(p.dbPath)).toEqual(p.original);
  });

  it('says none for the newest run', async () => {
    const p = await threeRuns();
    const r = await runCli(['rollback', 'last', '--yes'], { cwd: p.dir });
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('later runs on app that this also undoes: none');
  });

  it('with --dry-run lists them and changes nothing', async () => {
    const p = await threeRuns();
    const before = sha256(p.dbPath);
    const r = await runCli(['rollback', p.ids[1]!.slice(0, 6), '--dry-run'], { cwd: p.dir });
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(/later runs on app that this also undoes: 1 \(/);
    expect(r.stderr).toContain('dry run');
    expect(sha256(p.dbPath)).toBe(before);
  });
});
