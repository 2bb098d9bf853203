// safe-run verify end to end: real backups in a temp store, damaged in the ways a store gets damaged.
import { afterAll, describe, expect, it } from 'vitest';
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { VerifyReport } from '../src/core/verify-store.js';
import type { VerificationRecord } from '../src/store/verification-record.js';
import { runCli, tempProject } from './helpers/cli.js';
import { fillUntil, mountTmpfs, unmountAll } from './helpers/system.js';

const projects: Array<ReturnType<typeof tempProject>> = [];
afterAll(() => {
  unmountAll();
  projects.splice(0).forEach((p) => p.cleanup());
});

interface Listed {
  id: string;
  path: string;
  createdAt: string;
  lastVerified: VerificationRecord | null;
}

/** A project with `count` manual backups of app, oldest first. */
async function projectWithBackups(count: number, env?: Record<string, string>) {
  const p = tempProject('safe-run-verify-');
  projects.push(p);
  for (let i = 0; i < count; i++) {
    const r = await runCli(['backup', '--reason', `backup ${i}`], { cwd: p.dir, env });
    expect(r.code, r.stderr).toBe(0);
  }
  const backups = (await list(p.dir)).reverse();
  return { ...p, backups };
}

async function list(dir: string): Promise<Listed[]> {
  const r = await runCli(['list', '--json'], { cwd: dir });
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as Listed[];
}

async function verify(dir: string, args: string[] = []) {
  const r = await runCli(['verify', '--json', ...args], { cwd: dir });
  return { code: r.code, stderr: r.stderr, report: JSON.parse(r.stdout || 'null') as VerifyReport };
}

function flipByte(file: string, at: number) {
  const bytes = readFileSync(file);
  bytes[at] = bytes[at]! ^ 0xff;
  writeFileSync(file, bytes);
}

describe('safe-run verify', () => {
  it('re-checks every backup, exits 0, and list shows when each was last verified', async () => {
    const p = await projectWithBackups(2);
    expect((await list(p.dir)).every((b) => b.lastVerified === null)).toBe(true);
    const { code, report } = await verify(p.dir);
    expect(code).toBe(0);
    expect(report.summary).toMatchObject({ checked: 2, verified: 2, failed: 0, missing: 0, damaged: 0, orphans: 0, level: 'quick' });
    expect(report.backups.map((b) => [b.id, b.state, b.database, b.engine])).toEqual(
      p.backups.reverse().map((b) => [b.id, 'verified', 'app', 'sqlite']),
    );
    const listed = await list(p.dir);
    for (const b of listed) expect(b.lastVerified).toMatchObject({ ok: true, level: 'quick', problems: [] });
    const table = await runCli(['list'], { cwd: p.dir });
    expect(table.stdout).toMatch(/CHECKED\s+STATE/);
    expect(table.stdout).toMatch(/\d+ s\s+verified/);
  });

  it('fails a backup with a flipped byte (exit 3), names it, and list shows the failure', async () => {
    // Two full files: as page backups the second would share the first's pages, and a byte flipped
    // there would fail both (tests/page-store.test.ts shows that verify names them all).
    const p = await projectWithBackups(2, { SAFE_RUN_PAGE_STORE: '0' });
    const [bad, good] = p.backups;
    flipByte(bad!.path, 5000);
    const { code, report } = await verify(p.dir, ['--level', 'full']);
    expect(code).toBe(3);
    const byId = new Map(report.backups.map((b) => [b.id, b]));
    expect(byId.get(bad!.id)!.state).toBe('failed');
    expect(byId.get(bad!.id)!.problems.join(' ')).toMatch(/sha256 differs/);
    expect(byId.get(good!.id)!.state).toBe('verified');
    expect(report.summary).toMatchObject({ checked: 2, verified: 1, failed: 1, level: 'full' });
    const listed = new Map((await list(p.dir)).map((b) => [b.id, b]));
    expect(listed.get(bad!.id)!.lastVerified).toMatchObject({ ok: false, level: 'full' });
    const text = await runCli(['verify'], { cwd: p.dir });
    expect(text.code).toBe(3);
    expect(text.stdout).toMatch(new RegExp(`^failed\\s+${bad!.id.slice(0, 8)}`, 'm'));
    expect(text.stdout).toMatch(/2 backups: 1 verified, 1 failed/);
    expect((await runCli(['list'], { cwd: p.dir })).stdout).toMatch(/failed \d+ s/);
  });

  it('reports a backup whose file was deleted as missing (exit 3)', async () => {
    const p = await projectWithBackups(1);
    rmSync(p.backups[0]!.path);
    const { code, report } = await verify(p.dir);
    expect(code).toBe(3);
    expect(report.backups[0]).toMatchObject({ id: p.backups[0]!.id, state: 'missing', problems: ['the file is gone'] });
  });

  it('reports a manifest that does not parse as a damaged backup, which can be named by its id', async () => {
    const p = await projectWithBackups(2);
    const broken = p.backups[0]!;
    writeFileSync(path.join(path.dirname(broken.path), 'manifest.json'), '{"format": 1, "id": ');
    expect((await list(p.dir)).map((b) => b.id)).not.toContain(broken.id); // list skips it …
    const { code, report } = await verify(p.dir);
    expect(code).toBe(3); // … verify does not
    const damaged = report.backups.find((b) => b.id === broken.id)!;
    expect(damaged.state).toBe('damaged');
    expect(damaged.problems[0]).toMatch(/manifest\.json does not parse/);
    const one = await verify(p.dir, [broken.id.slice(0, 6)]);
    expect(one.code).toBe(3);
    expect(one.report.backups.map((b) => b.id)).toEqual([broken.id]);
    expect(existsSync(broken.path)).toBe(true); // nothing deleted
  });

  it('reports files that no manifest describes, and leaves them where they are', async () => {
    const p = await projectWithBackups(1);
    const storeDir = path.join(p.dir, 'backups', 'app');
    writeFileSync(path.join(storeDir, 'stray.sqlite'), 'x');
    mkdirSync(path.join(storeDir, 'half-a-backup'));
    writeFileSync(path.join(storeDir, 'half-a-backup', 'snapshot.sqlite'), 'y');
    writeFileSync(path.join(path.dirname(p.backups[0]!.path), 'extra.bin'), 'z');
    const { code, report } = await verify(p.dir);
    expect(code).toBe(3);
    expect(report.summary).toMatchObject({ verified: 1, orphans: 3 });
    expect(report.orphans.map((o) => path.relative(storeDir, o.path)).sort()).toEqual(
      ['half-a-backup', path.join(path.basename(path.dirname(p.backups[0]!.path)), 'extra.bin'), 'stray.sqlite'].sort(),
    );
    for (const o of report.orphans) expect(existsSync(o.path)).toBe(true);
  });

  it('fails a backup file replaced by a symbolic link, even to identical bytes, without following it', async () => {
    const p = await projectWithBackups(1);
    const file = p.backups[0]!.path;
    const elsewhere = path.join(p.dir, 'copy.sqlite');
    copyFileSync(file, elsewhere);
    rmSync(file);
    symlinkSync(elsewhere, file);
    const { code, report } = await verify(p.dir);
    expect(code).toBe(3);
    expect(report.backups[0]!.state).toBe('failed');
    expect(report.backups[0]!.problems).toEqual(['snapshot.sqlite is not a regular file (a symbolic link, not followed)']);
  });

  it('with --max-age, exits 8 when the newest verified backup of a database is older, 0 when younger', async () => {
    const p = await projectWithBackups(1);
    const fresh = await verify(p.dir, ['--max-age', '1h']);
    expect(fresh.code).toBe(0);
    expect(fresh.report.summary.fresh).toBe(true);
    expect(fresh.report.freshness).toEqual([expect.objectContaining({ database: 'app', newestVerified: p.backups[0]!.id, ok: true })]);
    await new Promise((r) => setTimeout(r, 1200));
    const stale = await verify(p.dir, ['--max-age', '1s']);
    expect(stale.code).toBe(8);
    expect(stale.report.freshness[0]).toMatchObject({ database: 'app', ok: false });
    // A good backup that is damaged no longer counts: the database has no verified backup at all.
    flipByte(p.backups[0]!.path, 3000);
    const broken = await verify(p.dir, ['--max-age', '1h']);
    expect(broken.code).toBe(3);
    expect(broken.report.freshness[0]).toMatchObject({ newestVerified: null, ok: false });
  });

  it('counts a configured database without any backup as stale', async () => {
    const p = tempProject('safe-run-verify-');
    projects.push(p);
    const { code, report } = await verify(p.dir, ['--max-age', '25h']);
    expect(code).toBe(8);
    expect(report.freshness).toEqual([expect.objectContaining({ database: 'app', newestVerified: null, ok: false })]);
  });

  it('refuses ids together with --all, a bad --level and a bad --max-age (exit 2)', async () => {
    const p = await projectWithBackups(1);
    for (const args of [[p.backups[0]!.id, '--all'], ['--level', 'deep'], ['--max-age', 'soon']]) {
      const r = await runCli(['verify', ...args], { cwd: p.dir });
      expect(r.code, args.join(' ')).toBe(2);
    }
  });

  it('on a full store still reports every backup, says it could not record the results, and exits 6', async () => {
    const p = await projectWithBackups(1);
    const store = path.join(p.dir, 'full-store');
    mountTmpfs(store, '1m');
    const copy = path.join(store, 'app', p.backups[0]!.id);
    mkdirSync(copy, { recursive: true });
    for (const f of ['manifest.json', 'snapshot.sqlite']) copyFileSync(path.join(path.dirname(p.backups[0]!.path), f), path.join(copy, f));
    writeFileSync(path.join(p.dir, 'safe-run.config.json'), JSON.stringify({ databases: [{ name: 'app', url: 'data/app.db' }], backupDir: 'full-store' }));
    fillUntil(store, 0);
    const r = await runCli(['verify'], { cwd: p.dir });
    expect(r.code).toBe(6);
    expect(r.stdout).toMatch(/^verified\s/m);
    expect(r.stdout).toMatch(/could not record the results for safe-run list: no space left on the device/);
  });

  it('fails a backup that no engine here can open, with the reason, instead of stopping', async () => {
    const p = await projectWithBackups(2);
    const manifestFile = path.join(path.dirname(p.backups[0]!.path), 'manifest.json');
    writeFileSync(manifestFile, JSON.stringify({ ...JSON.parse(readFileSync(manifestFile, 'utf8')), engine: 'oracle' }));
    const { code, report } = await verify(p.dir);
    expect(code).toBe(3);
    const byId = new Map(report.backups.map((b) => [b.id, b]));
    expect(byId.get(p.backups[0]!.id)).toMatchObject({ state: 'failed', engine: 'oracle' });
    expect(byId.get(p.backups[0]!.id)!.problems[0]).toMatch(/backups of oracle databases cannot be opened by this version/);
    expect(byId.get(p.backups[1]!.id)!.state).toBe('verified');
  });
});
