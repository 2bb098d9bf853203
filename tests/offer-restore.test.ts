// A guarded command that fails on a terminal: safe-run shows what it changed and offers the restore.
import { afterEach, describe, expect, it } from 'vitest';
import { rowsOf, runCli, tempProject } from './helpers/cli.js';
import { Terminal } from './helpers/terminal.js';

const projects: Array<{ cleanup: () => void }> = [];
afterEach(() => {
  Terminal.killAll();
  projects.splice(0).forEach((p) => p.cleanup());
});

function failingRun() {
  const p = tempProject('safe-run-offer-', { rows: 100 });
  projects.push(p);
  const before = rowsOf(p.dbPath);
  const term = new Terminal(p.dir, ['--', 'sh', '-c', `"sqlite3 '${p.dbPath}' 'DELETE FROM users WHERE id > 30'; exit 3"`]);
  return { p, before, term };
}

describe('a guarded command that fails on a terminal', () => {
  it('shows what it changed, restores when the database name is typed, and still exits with the command\'s code', async () => {
    const { p, before, term } = failingRun();
    const screen = await term.waitFor('Type "app" to restore');
    expect(screen).toMatch(/status\s+exit 3/);
    expect(screen).toMatch(/changed\s+app: users −70 \(of 100\)/);
    term.type('app');
    term.keys('Enter');
    expect(await term.exitCode()).toBe(3);
    expect(rowsOf(p.dbPath)).toEqual(before);
    expect(term.screen()).toMatch(/undo this restore: safe-run -C \S+ rollback [0-9a-f]{12}/);
    const log = JSON.parse((await runCli(['log', '--json'], { cwd: p.dir })).stdout);
    expect(log[0]).toMatchObject({ kind: 'rollback', status: 'succeeded' });
    expect(log[1]).toMatchObject({ kind: 'run', exitCode: 3, autoRollback: { ok: true } });
  });

  it('keeps the database as the command left it on Enter, Ctrl-C or a wrong name', async () => {
    for (const answer of [[], ['C-c'], ['-l', 'ap']]) {
      const { p, term } = failingRun();
      await term.waitFor('Type "app" to restore');
      if (answer.length) term.keys(...answer);
      if (answer[0] !== 'C-c') term.keys('Enter');
      expect(await term.exitCode()).toBe(3);
      expect(rowsOf(p.dbPath)).toHaveLength(30);
      expect(term.screen()).toMatch(/undo\s+safe-run -C \S+ rollback [0-9a-f]{12}/);
    }
  });

  it('does not ask without a terminal: it prints the rollback command', async () => {
    const p = tempProject('safe-run-offer-pipe-', { rows: 100 });
    projects.push(p);
    const r = await runCli(['--', 'sh', '-c', `sqlite3 '${p.dbPath}' 'DELETE FROM users'; exit 4`], { cwd: p.dir });
    expect(r.code).toBe(4);
    expect(r.stderr).not.toMatch(/Restore app/);
    expect(r.stderr).toMatch(/undo\s+safe-run -C \S+ rollback/);
    expect(rowsOf(p.dbPath)).toHaveLength(0);
  });
});
