// safe-run prune, pin and unpin through the real CLI, on real SQLite files in temp projects.
import { existsSync, readFileSync, renameSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runCli, startCli, tempProject } from './helpers/cli.js';
import { copiesOf, listOf, logOf } from './helpers/store.js';
import { sha256Of } from './helpers/system.js';

const cleanups: Array<() => void> = [];
afterEach(() => cleanups.splice(0).forEach((f) => f()));

function project(config: Record<string, unknown> = {}) {
  const p = tempProject('safe-run-retention-');
  cleanups.push(p.cleanup);
  if (Object.keys(config).length > 0) {
    const file = path.join(p.dir, 'safe-run.config.json');
    writeFileSync(file, JSON.stringify({ ...JSON.parse(readFileSync(file, 'utf8')), ...config }));
  }
  return p;
}

async function guarded(dir: string, times: number) {
  for (let i = 0; i < times; i++) {
    const r = await runCli(['--', 'true'], { cwd: dir });
    expect(r.code, r.stderr).toBe(0);
  }
}

describe('safe-run prune', () => {
  it('removes what no rule keeps, whole, and logs the prune', async () => {
    const p = project();
    await guarded(p.dir, 4);
    const before = await listOf(p.dir);
    const r = await runCli(['prune', '--keep-last', '2'], { cwd: p.dir });
    expect(r.code, r.stderr).toBe(0);
    const after = await listOf(p.dir);
    expect(after.map((b) => b.id)).toEqual(before.slice(0, 2).map((b) => b.id)); // list is newest first
    for (const gone of before.slice(2)) expect(existsSync(path.dirname(gone.path))).toBe(false);
    for (const b of after) expect(sha256Of(b.path)).toBe(b.files![0]!.sha256); // a page backup's main file is its page list
    const record = logOf(p.dir).at(-1)!;
    expect(record).toMatchObject({ kind: 'prune', status: 'succeeded', argv: ['prune', '--keep-last', '2'] });
    expect(record.pruned!.map((x) => x.backupId).sort()).toEqual(before.slice(2).map((b) => b.id).sort());
    for (const x of record.pruned!) expect(x.at).toBeTruthy();
  });

  it('--dry-run changes nothing and gives the rule that keeps each backup', async () => {
    const p = project();
    await guarded(p.dir, 3);
    await runCli(['backup'], { cwd: p.dir });
    const r = await runCli(['prune', '--keep-last', '1', '--dry-run', '--json'], { cwd: p.dir });
    expect(r.code, r.stderr).toBe(0);
    const json = JSON.parse(r.stdout) as { decisions: Array<{ kind: string; keep: boolean; reasons: string[] }> };
    expect(json.decisions.filter((d) => !d.keep)).toHaveLength(2);
    expect(json.decisions.find((d) => d.kind === 'manual')!.reasons).toContain('manual');
    expect(json.decisions.filter((d) => d.keep).every((d) => d.reasons.length > 0)).toBe(true);
    expect(await listOf(p.dir)).toHaveLength(4);
    const text = await runCli(['prune', '--keep-last', '1', '-n'], { cwd: p.dir });
    expect(text.stdout).toMatch(/remove\s+no rule keeps it/);
    expect(text.stdout).toMatch(/keep\s+.*manual/);
  });

  it('never removes manual, pinned, newest verified, newest-run or newest-restore backups', async () => {
    const p = project();
    await runCli(['backup', '--reason', 'before the big change'], { cwd: p.dir });
    await guarded(p.dir, 3);
    const [newest, , oldestRun] = (await listOf(p.dir)).filter((b) => b.kind === 'pre-run');
    const pin = await runCli(['pin', oldestRun!.id, '--reason', 'keep for audit'], { cwd: p.dir });
    expect(pin.code, pin.stderr).toBe(0);
    expect(pin.stderr).toContain(`safe-run unpin ${oldestRun!.id}`);
    expect((await listOf(p.dir)).find((b) => b.id === oldestRun!.id)).toMatchObject({ pinned: true });
    // A restore: its safety backup (pre-restore) is the newest restore's.
    const restore = await runCli(['restore', newest!.id, '--yes'], { cwd: p.dir });
    expect(restore.code, restore.stderr).toBe(0);
    const r = await runCli(['prune', '--max-age', '1h', '--max-size', '1'], { cwd: p.dir });
    // max-size 1 byte cannot be met without the protected backups: refused, nothing removed.
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/max-size 1 B cannot be met.*nothing was removed/);
    expect(await listOf(p.dir)).toHaveLength(5);
    const r2 = await runCli(['prune', '--keep-last', '1', '--json'], { cwd: p.dir });
    expect(r2.code, r2.stderr).toBe(0);
    const left = await listOf(p.dir);
    const kinds = left.map((b) => b.kind).sort();
    expect(kinds).toEqual(['manual', 'pre-restore', 'pre-run', 'pre-run']);
    expect(left.map((b) => b.id)).toContain(oldestRun!.id);
    expect(left.map((b) => b.id)).toContain(newest!.id);
  });

  it('unpin lets the next prune remove the backup', async () => {
    const p = project();
    await guarded(p.dir, 3);
    const oldest = (await listOf(p.dir)).at(-1)!;
    await runCli(['pin', oldest.id.slice(0, 6)], { cwd: p.dir });
    await runCli(['prune', '--keep-last', '1'], { cwd: p.dir });
    expect((await listOf(p.dir)).map((b) => b.id)).toContain(oldest.id);
    const un = await runCli(['unpin', oldest.id], { cwd: p.dir });
    expect(un.code, un.stderr).toBe(0);
    await runCli(['prune', '--keep-last', '1'], { cwd: p.dir });
    expect((await listOf(p.dir)).map((b) => b.id)).not.toContain(oldest.id);
  });

  it('show says a pruned backup was pruned, and rollback of its run exits 4 naming one to restore', async () => {
    const p = project();
    await guarded(p.dir, 3);
    const runs = logOf(p.dir);
    const first = runs[0]!;
    await runCli(['prune', '--keep-last', '1'], { cwd: p.dir });
    const show = await runCli(['show', first.id, '--no-verify'], { cwd: p.dir });
    expect(show.code, show.stderr).toBe(0);
    expect(show.stdout).toMatch(/backup pruned on \d{4}-\d\d-\d\d/);
    const rb = await runCli(['rollback', first.id, '--yes'], { cwd: p.dir });
    expect(rb.code).toBe(4);
    expect(rb.stderr).toMatch(/was pruned on .*nothing was changed/);
    const left = (await listOf(p.dir))[0]!;
    expect(rb.stderr).toContain(`safe-run restore ${left.id}`);
    // The log keeps the run.
    expect(logOf(p.dir).map((r) => r.id)).toContain(first.id);
  });

  it('keeps the daily buckets of an older history', async () => {
    const p = project();
    await guarded(p.dir, 1);
    const [real] = await listOf(p.dir);
    // 3 backups a day for 5 days, the oldest first.
    copiesOf(real!, [120, 119, 118, 96, 95, 94, 72, 71, 70, 48, 47, 46, 24, 23, 22]);
    const r = await runCli(['prune', '--keep-daily', '3', '--json'], { cwd: p.dir });
    expect(r.code, r.stderr).toBe(0);
    // Today's real one, and the newest of the two days before it (22 h and 46 h ago … or per UTC day).
    const left = await listOf(p.dir);
    expect(left).toHaveLength(3);
    expect(new Set(left.map((b) => b.createdAt.slice(0, 10))).size).toBe(3);
  });
});

describe('locking', () => {
  it('waits for the lock of a database that a guarded run holds, and --no-wait exits 5 removing nothing', async () => {
    const p = project();
    await guarded(p.dir, 3);
    const child = startCli(['--', 'sleep', '3'], { cwd: p.dir });
    let err = '';
    await new Promise<void>((resolve) => child.stderr.on('data', (d) => (err += d) && err.includes('── sleep') && resolve()));
    const r = await runCli(['prune', '--keep-last', '1', '--no-wait'], { cwd: p.dir });
    expect(r.code).toBe(5);
    expect(r.stderr).toMatch(/app is locked by pid \d+/);
    expect(await listOf(p.dir)).toHaveLength(4);
    await new Promise((resolve) => child.on('close', resolve));
  });
});

describe('automatic retention', () => {
  it('applies the config retention after each guarded run and backup, under the run', async () => {
    const p = project({ retention: { keepLast: 2, auto: true } });
    await guarded(p.dir, 4);
    expect((await listOf(p.dir)).filter((b) => b.kind === 'pre-run')).toHaveLength(2);
    const r = await runCli(['--', 'true'], { cwd: p.dir });
    expect(r.stderr).toMatch(/pruned 1 old backup of app/);
    const manual = await runCli(['backup'], { cwd: p.dir });
    expect(manual.code).toBe(0);
    const kinds = (await listOf(p.dir)).map((b) => b.kind);
    expect(kinds.filter((k) => k === 'pre-run')).toHaveLength(2);
    expect(kinds).toContain('manual');
    const prunes = logOf(p.dir).filter((r) => r.kind === 'prune');
    expect(prunes.length).toBeGreaterThan(0);
    expect(prunes[0]!.reason).toMatch(/^automatic retention after /);
  });

  it('does not prune without "auto", and a failing retention is a warning, never a failed run', async () => {
    const p = project({ retention: { keepLast: 1 } });
    await guarded(p.dir, 3);
    expect(await listOf(p.dir)).toHaveLength(3);
    const q = project({ retention: { keepLast: 1, auto: true } });
    await guarded(q.dir, 1);
    const [b] = await listOf(q.dir);
    const [copy] = copiesOf(b!, [5]);
    writeFileSync(path.join(path.dirname(path.dirname(b!.path)), copy!, 'manifest.json'), '{ not json');
    const r = await runCli(['--', 'true'], { cwd: q.dir });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/warning: automatic retention did not run: the manifest of .* does not read/);
  });
});

describe('bad input and faults', () => {
  it('refuses a prune without any rule, and counts below 1', async () => {
    const p = project();
    await guarded(p.dir, 2);
    const none = await runCli(['prune'], { cwd: p.dir });
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/no retention rule given/);
    const zero = await runCli(['prune', '--keep-last', '0'], { cwd: p.dir });
    expect(zero.code).toBe(2);
    expect(zero.stderr).toMatch(/--keep-last must be a whole number of at least 1, not "0"/);
    const age = await runCli(['prune', '--max-age', 'soon'], { cwd: p.dir });
    expect(age.code).toBe(2);
    expect(await listOf(p.dir)).toHaveLength(2);
  });

  it('rejects an invalid retention config in one line', async () => {
    const p = project({ retention: { keepLast: 'ten' } });
    const r = await runCli(['list'], { cwd: p.dir });
    expect(r.code).toBe(2);
    expect(r.stderr.split('\n')[0]).toMatch(/retention\.keepLast must be a whole number/);
  });

  it('refuses to prune around a manifest that does not parse, removing nothing', async () => {
    const p = project();
    await guarded(p.dir, 3);
    const [, , oldest] = await listOf(p.dir);
    writeFileSync(path.join(path.dirname(oldest!.path), 'manifest.json'), '{ "format": 1, "id": ');
    const r = await runCli(['prune', '--keep-last', '1'], { cwd: p.dir });
    expect(r.code).toBe(6);
    expect(r.stderr).toMatch(/manifest of .* does not read; nothing was removed/);
    expect(await listOf(p.dir)).toHaveLength(2);
    expect(existsSync(oldest!.path)).toBe(true);
  });

  it('removes a backup whose file was replaced by a symlink without touching the link target', async () => {
    const p = project();
    await guarded(p.dir, 2);
    const oldest = (await listOf(p.dir)).at(-1)!;
    const outside = path.join(os.tmpdir(), `safe-run-outside-${process.pid}.txt`);
    writeFileSync(outside, 'precious');
    cleanups.push(() => unlinkSync(outside));
    renameSync(oldest.path, `${oldest.path}.moved`);
    symlinkSync(outside, oldest.path);
    const r = await runCli(['prune', '--keep-last', '1'], { cwd: p.dir });
    expect(r.code, r.stderr).toBe(0);
    expect(existsSync(path.dirname(oldest.path))).toBe(false);
    expect(readFileSync(outside, 'utf8')).toBe('precious');
  });
});
