// The totals under `safe-run list`: the total size and the missing count are never dropped to fit 80 columns.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rmSync } from 'node:fs';
import { runCli, tempProject } from './helpers/cli.js';

describe('safe-run list totals', () => {
  const p = tempProject('safe-run-list-totals-');
  const cli = (args: string[]) => runCli(args, { cwd: p.dir });
  afterAll(() => p.cleanup());

  it('says "1 backup" for a store with one', async () => {
    expect((await cli(['backup', '--reason', 'first'])).code).toBe(0);
    const r = await cli(['list']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^1 backup: 1 manual · [\d.]+ kB$/m);
  });

  describe('with every kind of backup in the store', () => {
    beforeAll(async () => {
      for (const kind of ['startup', 'scheduled', 'shutdown']) expect((await cli(['backup', '--kind', kind])).code).toBe(0);
      const run = await cli(['--', 'sqlite3', 'data/app.db', 'DELETE FROM users WHERE id < 10']);
      expect(run.code, run.stderr).toBe(0);
      expect((await cli(['rollback', 'last', '--yes'])).code).toBe(0);
    });

    it('wraps the total size onto a line of its own when the kinds fill the first', async () => {
      const r = await cli(['list']);
      expect(r.code).toBe(0);
      const footer = r.stdout.trimEnd().split('\n').slice(-3);
      expect(footer[0]).toBe('6 backups: 1 pre-run, 1 manual, 1 pre-restore, 1 startup, 1 scheduled,');
      expect(footer[1]).toMatch(/^1 shutdown · [\d.]+ kB$/);
      expect(footer[2]).toMatch(/^newest /);
      for (const line of r.stdout.split('\n')) expect(line.length).toBeLessThanOrEqual(80);
    });

    it('still says how many backups are missing', async () => {
      const list = JSON.parse((await cli(['list', '--json', '--kind', 'manual'])).stdout) as Array<{ path: string }>;
      rmSync(list[0]!.path);
      const r = await cli(['list']);
      expect(r.stdout).toMatch(/^1 shutdown · [\d.]+ kB · 1 missing$/m);
    });
  });
});
