// Retention when things go wrong for real: kill -9 in the middle of a large prune, full disks.
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runCli, startCli, tempProject } from './helpers/cli.js';
import { copiesOf, listOf, logOf } from './helpers/store.js';
import { fillUntil, mountTmpfs, sha256Of, unmountAll } from './helpers/system.js';

const cleanups: Array<() => void> = [];
afterEach(() => {
  unmountAll();
  cleanups.splice(0).forEach((f) => f());
});

function project(config: Record<string, unknown> = {}) {
  const p = tempProject('safe-run-retention-faults-');
  cleanups.push(p.cleanup);
  const file = path.join(p.dir, 'safe-run.config.json');
  writeFileSync(file, JSON.stringify({ ...JSON.parse(readFileSync(file, 'utf8')), ...config }));
  return p;
}

/** Every backup directory listed in the store: its manifest reads and its file has its sha256. */
function expectWholeStore(storeDb: string): string[] {
  const listed = readdirSync(storeDb).filter((n) => !n.startsWith('.'));
  for (const id of listed) {
    const manifest = JSON.parse(readFileSync(path.join(storeDb, id, 'manifest.json'), 'utf8'));
    expect(sha256Of(path.join(storeDb, id, manifest.file)), id).toBe(manifest.sha256);
  }
  return listed;
}

describe('retention faults', () => {
  it('a prune killed with -9 leaves every backup listed whole or gone; the next prune finishes', async () => {
    const p = project();
    expect((await runCli(['--', 'true'], { cwd: p.dir })).code).toBe(0);
    const [real] = await listOf(p.dir);
    copiesOf(real!, Array.from({ length: 400 }, (_, i) => 1 + i));
    const storeDb = path.join(p.dir, 'backups', 'app');
    const before = readdirSync(storeDb).length;
    const child = startCli(['prune', '--keep-last', '1'], { cwd: p.dir });
    // Kill it once removals have started, long before 400 are done.
    while (readdirSync(storeDb).filter((n) => !n.startsWith('.')).length > before - 20) await new Promise((r) => setTimeout(r, 1));
    child.kill('SIGKILL');
    await new Promise((r) => child.on('close', r));
    const left = expectWholeStore(storeDb);
    expect(left.length).toBeGreaterThan(1); // it really was stopped in the middle
    const listedNow = await listOf(p.dir);
    expect(listedNow.every((b) => b.state === 'verified')).toBe(true);
    expect(logOf(p.dir).at(-1)).toMatchObject({ kind: 'prune' });
    const again = await runCli(['prune', '--keep-last', '1'], { cwd: p.dir });
    expect(again.code, again.stderr).toBe(0);
    expect(readdirSync(storeDb)).toEqual([real!.id]); // no doomed leftovers either
  });

  it('prunes a store whose disk is full, freeing space', async () => {
    const p = project({ backupDir: 'store' });
    mountTmpfs(path.join(p.dir, 'store'), '4m');
    for (let i = 0; i < 3; i++) expect((await runCli(['--', 'true'], { cwd: p.dir })).code).toBe(0);
    fillUntil(path.join(p.dir, 'store'), 0);
    const r = await runCli(['prune', '--keep-last', '1'], { cwd: p.dir });
    expect(r.code, r.stderr).toBe(0);
    expect(await listOf(p.dir)).toHaveLength(1);
  });

  it('removes nothing when the log cannot be written (its disk is full), exiting 6', async () => {
    const p = project();
    mountTmpfs(path.join(p.dir, 'logs'), '1m');
    for (let i = 0; i < 3; i++) expect((await runCli(['--', 'true'], { cwd: p.dir })).code).toBe(0);
    fillUntil(path.join(p.dir, 'logs'), 0);
    const r = await runCli(['prune', '--keep-last', '1'], { cwd: p.dir });
    expect(r.code).toBe(6);
    expect(r.stderr).toMatch(/cannot write the operation log .*nothing was removed/);
    expect(await listOf(p.dir)).toHaveLength(3);
    expect(existsSync(path.join(p.dir, 'logs', 'operations.json'))).toBe(true);
  });
});
