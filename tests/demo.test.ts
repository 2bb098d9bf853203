// The README's first commands work on a fresh clone: npm run demo guards, logs and rolls back for real.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { ROOT } from './helpers/cli.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'safe-run-clone-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

it('runs npm run demo on a fresh clone of the committed tree and gets every row back', () => {
  const clone = path.join(dir, 'safe run');
  const git = spawnSync('git', ['clone', '-q', ROOT, clone], { encoding: 'utf8' });
  expect(git.status, git.stderr).toBe(0);
  // npm ci would compile better-sqlite3 again (a minute); the installed modules are the same ones.
  symlinkSync(path.join(ROOT, 'node_modules'), path.join(clone, 'node_modules'));
  const build = spawnSync('npm', ['run', 'build'], { cwd: clone, encoding: 'utf8' });
  expect(build.status, build.stderr).toBe(0);
  const demo = spawnSync('npm', ['run', 'demo'], { cwd: clone, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
  expect(demo.status, demo.stdout + demo.stderr).toBe(0);
  expect(demo.stdout).toContain('customers: 500, orders: 2000');
  expect(demo.stdout).toContain('restored: customers 500, orders 2000');
  expect(demo.stderr).toMatch(/verified in/);
  expect(demo.stderr).toMatch(/undo this restore: safe-run -C .+ rollback [0-9a-f]{12}$/m);
}, 120_000);
