// Repeat SQLite backups stored as shared pages: what they store, that they restore to the same rows,
// and that prune, verify and kill -9 keep every listed backup restorable.
import Database from 'better-sqlite3';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { afterAll, describe, expect, it } from 'vitest';
import type { VerifyReport } from '../src/core/verify-store.js';
import { integrityOf, rowsOf, runCli, startCli, tempProject } from './helpers/cli.js';
import { backupFileOf, listOf } from './helpers/store.js';

const require = createRequire(import.meta.url);
const projects: Array<ReturnType<typeof tempProject>> = [];
afterAll(() => projects.splice(0).forEach((p) => p.cleanup()));

/** A project whose database has `rows` users (about 40 rows to a 4 KiB page). */
function project(rows = 20_000) {
  const p = tempProject('safe-run-pages-', { rows });
  projects.push(p);
  return p;
}

/** Change the names of users `from`..`to` (a run of neighbouring pages), as a script would. */
function touch(dbPath: string, from: number, to: number, mark: string) {
  const db = new Database(dbPath);
  db.prepare('UPDATE users SET name = ? || id WHERE id BETWEEN ? AND ?').run(mark, from, to);
  db.close();
}

async function backup(dir: string, env?: Record<string, string>) {
  const r = await runCli(['backup', '--json'], { cwd: dir, env });
  expect(r.code, r.stderr).toBe(0);
  return (await listOf(dir)).at(0)!; // newest first
}

/** A guarded run of a script that changes users from..to: its pre-run backup. */
async function guardedTouch(dir: string, dbPath: string, from: number, to: number, mark: string) {
  const script = `const D=require(${JSON.stringify(require.resolve('better-sqlite3'))});const d=new D(${JSON.stringify(dbPath)});d.prepare("UPDATE users SET name = ? || id WHERE id BETWEEN ? AND ?").run(${JSON.stringify(mark)},${from},${to});d.close()`;
  const r = await runCli(['--', process.execPath, '-e', script], { cwd: dir });
  expect(r.code, r.stderr).toBe(0);
}

function dirOf(b: { path: string }) {
  return path.dirname(b.path);
}

function bytesIn(dir: string): number {
  return readdirSync(dir).reduce((n, f) => n + statSync(path.join(dir, f)).size, 0);
}

function sha256Of(file: string) {
  return createHash('sha256').update(readFileSync(file)).digest('hex');
}

async function verify(dir: string) {
  const r = await runCli(['verify', '--json'], { cwd: dir });
  return { code: r.code, stderr: r.stderr, report: JSON.parse(r.stdout || 'null') as VerifyReport };
}

/** Restore backup `id` into a new file and return that file's rows. */
async function rowsRestored(dir: string, id: string, name: string) {
  const into = path.join(dir, 'restored', `${name}.db`);
  const r = await runCli(['restore', id, '--into', into, '--yes'], { cwd: dir });
  expect(r.code, r.stderr).toBe(0);
  expect(integrityOf(into)).toBe('ok');
  return { rows: rowsOf(into), sha256: sha256Of(into) };
}

describe('a repeat backup of a SQLite database', () => {
  it('stores only the pages that changed, and restores to the same rows with the same whole-file sha256', async () => {
    const p = project(60_000);
    const first = await backup(p.dir);
    expect(first.pages).toBeNull(); // the first backup is a full file, as before
    touch(p.dbPath, 5_000, 5_200, 'changed ');
    const expected = rowsOf(p.dbPath);
    const repeat = await backup(p.dir);

    const dbSize = statSync(p.dbPath).size;
    expect(repeat.pages).toMatchObject({ pageSize: 4096, pageCount: dbSize / 4096 });
    expect(repeat.size).toBe(dbSize); // the identity is the whole file's
    expect(existsSync(path.join(dirOf(repeat), 'snapshot.sqlite'))).toBe(false);
    const stored = bytesIn(dirOf(repeat));
    expect(stored, `${stored} bytes stored for a ${dbSize}-byte database`).toBeLessThan(dbSize * 0.05);
    // list counts what it stores, not the whole database
    expect((await listOf(p.dir)).find((b) => b.id === repeat.id)!.files!.reduce((n, f) => n + f.size, 0)).toBeLessThan(dbSize * 0.05);

    // The live database is wrecked; the page backup brings every row back.
    const db = new Database(p.dbPath);
    db.exec('DELETE FROM users WHERE id % 3 = 0');
    db.close();
    const r = await runCli(['restore', repeat.id, '--yes'], { cwd: p.dir });
    expect(r.code, r.stderr).toBe(0);
    expect(rowsOf(p.dbPath)).toEqual(expected);
    expect(integrityOf(p.dbPath)).toBe('ok');
    const restored = await rowsRestored(p.dir, repeat.id, 'again');
    expect(restored.rows).toEqual(expected);
    expect(restored.sha256).toBe(repeat.sha256);
    // And the full backup it shares pages with is untouched.
    expect(sha256Of(first.path)).toBe(first.sha256);
  });

  it('shares pages with a backup written by an earlier version (one full file), and both verify, diff and export', async () => {
    const p = project(8_000);
    const legacy = await backup(p.dir);
    expect(readdirSync(dirOf(legacy)).sort()).toEqual(['manifest.json', 'snapshot.sqlite']); // what an earlier version wrote
    touch(p.dbPath, 100, 150, 'new ');
    const repeat = await backup(p.dir);
    expect(repeat.pages).not.toBeNull();
    const { code, report } = await verify(p.dir);
    expect(code, JSON.stringify(report.backups)).toBe(0);
    expect(report.summary).toMatchObject({ checked: 2, verified: 2, orphans: 0 });
    // diff reads both through reassembled copies: exactly the 51 renamed users
    const diff = await runCli(['diff', legacy.runId!, '--to', repeat.id, '--json'], { cwd: p.dir });
    expect(diff.code, diff.stderr).toBe(0);
    expect(diff.stdout).toMatch(/"updated":\s*51/);
    const out = path.join(p.dir, 'export');
    const ex = await runCli(['export', repeat.id, '--out', out], { cwd: p.dir });
    expect(ex.code, ex.stderr).toBe(0);
    expect(readFileSync(path.join(out, 'users.csv'), 'utf8')).toContain('new 120');
  });

  it('stays a full file with SAFE_RUN_PAGE_STORE=0', async () => {
    const p = project(4_000);
    await backup(p.dir);
    touch(p.dbPath, 10, 20, 'x');
    const repeat = await backup(p.dir, { SAFE_RUN_PAGE_STORE: '0' });
    expect(repeat.pages).toBeNull();
    expect(sha256Of(repeat.path)).toBe(repeat.sha256);
  });
});

describe('verify of page backups', () => {
  it('finds a damaged page in a shared pack and names every backup that uses it; restore refuses them', async () => {
    const p = project();
    const base = await backup(p.dir);
    touch(p.dbPath, 100, 300, 'one ');
    const second = await backup(p.dir);
    touch(p.dbPath, 9_000, 9_200, 'two ');
    const third = await backup(p.dir);
    const live = rowsOf(p.dbPath);
    // A page in the middle of the base, which neither later backup changed: all three use it.
    const file = base.path;
    const bytes = readFileSync(file);
    const at = 4096 * Math.floor(bytes.length / 4096 / 2) + 2000;
    bytes[at] = bytes[at]! ^ 0xff;
    writeFileSync(file, bytes);

    const { code, report } = await verify(p.dir);
    expect(code).not.toBe(0);
    const state = Object.fromEntries(report.backups.map((b) => [b.id, b]));
    expect(state[base.id]!.state).toBe('failed');
    for (const b of [second, third]) {
      expect(state[b.id]!.state).toBe('failed');
      expect(state[b.id]!.problems.join(' ')).toContain(`of backup ${base.id}`);
    }
    const r = await runCli(['restore', third.id, '--yes'], { cwd: p.dir });
    expect(r.code).toBe(4);
    expect(r.stderr).toContain(base.id);
    expect(rowsOf(p.dbPath)).toEqual(live); // refused: nothing changed
  });
});

describe('verify of a damaged pack', () => {
  it('fails the backup whose pages.pack changed and every later one using its pages, and keeps the base verified', async () => {
    const p = project();
    const base = await backup(p.dir);
    touch(p.dbPath, 100, 300, 'one ');
    const second = await backup(p.dir);
    touch(p.dbPath, 9_000, 9_200, 'two ');
    const third = await backup(p.dir); // rows 100-300 still as the second stored them: its pages come from there
    const pack = path.join(dirOf(second), 'pages.pack');
    const bytes = readFileSync(pack);
    bytes[4096 + 100] = bytes[4096 + 100]! ^ 0xff; // the second page of its pack
    writeFileSync(pack, bytes);

    const { code, report } = await verify(p.dir);
    expect(code).toBe(3);
    const state = Object.fromEntries(report.backups.map((b) => [b.id, b]));
    expect(state[base.id]!.state).toBe('verified');
    expect(state[second.id]!.state).toBe('failed');
    expect(state[second.id]!.problems.join(' ')).toMatch(/sha256 differs from the recorded one for its pages\.pack/);
    expect(state[third.id]!.state).toBe('failed');
    expect(state[third.id]!.problems.join(' ')).toContain(`stored in pages.pack of backup ${second.id}`);
  });
});

describe('restore of a page backup whose pack is gone or is a link', () => {
  for (const damage of ['deleted', 'symlink'] as const) {
    it(`refuses (exit 4) naming the pack when it was ${damage === 'deleted' ? 'deleted' : 'replaced by a symbolic link'}, and leaves the live database as it was`, async () => {
      const p = project(20_000);
      await backup(p.dir);
      touch(p.dbPath, 100, 300, 'first ');
      const repeat = await backup(p.dir);
      expect(repeat.pages).not.toBeNull();
      const pack = path.join(dirOf(repeat), 'pages.pack');
      if (damage === 'symlink') {
        const elsewhere = path.join(p.dir, 'elsewhere.pack');
        writeFileSync(elsewhere, readFileSync(pack));
        rmSync(pack);
        symlinkSync(elsewhere, pack);
      } else {
        rmSync(pack);
      }
      touch(p.dbPath, 1, 50, 'live ');
      const live = rowsOf(p.dbPath);
      const r = await runCli(['restore', repeat.id, '--yes'], { cwd: p.dir });
      expect(r.code, r.stderr).toBe(4);
      // What is wrong and where, in words: not a bare errno text.
      expect(r.stderr).toContain(`pages.pack of backup ${repeat.id}`);
      expect(r.stderr).toMatch(damage === 'deleted' ? /is gone/ : /symbolic link/);
      expect(r.stderr).not.toMatch(/ENOENT|ELOOP|no such file or directory/);
      // No whole-file sha256 was compared: the message does not claim one differs.
      expect(r.stderr).toContain(`refusing to restore backup ${repeat.id} of app: it is damaged: pages.pack of backup ${repeat.id}`);
      expect(r.stderr).not.toMatch(/sha256/);
      expect(r.stderr).toContain('safe-run list');
      expect(rowsOf(p.dbPath)).toEqual(live);
      expect(integrityOf(p.dbPath)).toBe('ok');
    });
  }
});

describe('restore --into of a page backup while a prune moves the pages it uses', () => {
  it('still restores the rows it was taken with (the pages are found where the prune moved them)', async () => {
    const p = project(12_000);
    for (let i = 0; i < 3; i++) await guardedTouch(p.dir, p.dbPath, 1_000 * i + 1, 1_000 * i + 100, `run ${i} `);
    const newest = (await listOf(p.dir))[0]!;
    expect(newest.pages).not.toBeNull();
    // Its rows: the database before the third run's script.
    const expected = rowsOf(await backupFileOf(p.dir, newest));
    // restore --into locks the file it writes, not the live database: a prune of the same store runs.
    const resume = path.join(p.dir, 'resume');
    const into = path.join(p.dir, 'restored', 'during-prune.db');
    const child = startCli(['restore', newest.id, '--into', into, '--yes'], { cwd: p.dir, env: { SAFE_RUN_TEST_PAUSE_AT: 'restore-pages-located', SAFE_RUN_TEST_RESUME_FILE: resume } });
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    const t0 = Date.now();
    while (!err.includes('paused at restore-pages-located')) {
      if (child.exitCode !== null || Date.now() - t0 > 30_000) throw new Error(`restore did not reach the pause: ${err}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    const pruned = await runCli(['prune', '--keep-last', '1'], { cwd: p.dir });
    expect(pruned.code, pruned.stderr).toBe(0);
    expect(await listOf(p.dir)).toHaveLength(1);
    writeFileSync(resume, '');
    const code = await new Promise((r) => child.once('close', r));
    expect(code, err).toBe(0);
    expect(integrityOf(into)).toBe('ok');
    expect(rowsOf(into)).toEqual(expected);
  });
});

describe('verify while a prune removes backups', () => {
  it('does not report the pruned ones as missing (exit 0), and verifies the one kept', async () => {
    const p = project(12_000);
    for (let i = 0; i < 3; i++) await guardedTouch(p.dir, p.dbPath, 1_000 * i + 1, 1_000 * i + 100, `run ${i} `);
    const resume = path.join(p.dir, 'resume');
    const child = startCli(['verify', '--json'], { cwd: p.dir, env: { SAFE_RUN_TEST_PAUSE_AT: 'verify-listed', SAFE_RUN_TEST_RESUME_FILE: resume } });
    let err = '';
    let out = '';
    child.stderr.on('data', (d) => (err += d));
    child.stdout.on('data', (d) => (out += d));
    const t0 = Date.now();
    while (!err.includes('paused at verify-listed')) {
      if (child.exitCode !== null || Date.now() - t0 > 30_000) throw new Error(`verify did not reach the pause: ${err}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    const pruned = await runCli(['prune', '--keep-last', '1'], { cwd: p.dir });
    expect(pruned.code, pruned.stderr).toBe(0);
    const kept = await listOf(p.dir);
    expect(kept).toHaveLength(1);
    writeFileSync(resume, '');
    const code = await new Promise((r) => child.once('close', r));
    const report = JSON.parse(out) as VerifyReport;
    expect(code, out + err).toBe(0);
    expect(report.summary.missing).toBe(0);
    expect(report.backups.map((b) => [b.id, b.state])).toEqual([[kept[0]!.id, 'verified']]);
  });
});

describe('a full backup whose page list (pages.idx) is damaged', () => {
  it('still serves its pages to the backups that share them: they restore to their rows and verify', async () => {
    const p = project(20_000);
    const first = await backup(p.dir);
    touch(p.dbPath, 100, 300, 'first ');
    const expected = rowsOf(p.dbPath);
    const repeat = await backup(p.dir);
    expect(repeat.pages).not.toBeNull();
    // The full file is intact; only the list of its pages' hashes, written beside it to share from, is not.
    const idx = path.join(dirOf(first), 'pages.idx');
    const bytes = readFileSync(idx);
    bytes[100]! ^= 0xff;
    writeFileSync(idx, bytes);
    expect((await rowsRestored(p.dir, repeat.id, 'idx-damaged')).rows).toEqual(expected);
    const v = await verify(p.dir);
    expect(v.code, JSON.stringify(v.report.backups)).toBe(0);
  });

  it('when it is pruned, the pages a kept backup uses move with a sound page list: the kept one restores', async () => {
    const p = project(12_000);
    const expected: unknown[][] = [];
    for (let i = 0; i < 3; i++) {
      expected.push(rowsOf(p.dbPath));
      await guardedTouch(p.dir, p.dbPath, 1_000 * i + 1, 1_000 * i + 100, `run ${i} `);
    }
    const listed = await listOf(p.dir);
    const full = listed.at(-1)!;
    expect(full.pages).toBeNull();
    const idx = path.join(dirOf(full), 'pages.idx');
    const bytes = readFileSync(idx);
    bytes[100]! ^= 0xff;
    writeFileSync(idx, bytes);
    const r = await runCli(['prune', '--keep-last', '1'], { cwd: p.dir });
    expect(r.code, r.stderr).toBe(0);
    const kept = await listOf(p.dir);
    expect(kept).toHaveLength(1);
    expect((await rowsRestored(p.dir, kept[0]!.id, 'idx-damaged-pruned')).rows).toEqual(expected[2]);
    const v = await verify(p.dir);
    expect(v.code, JSON.stringify(v.report.backups)).toBe(0);
  });
});

describe('prune of page backups', () => {
  for (const links of [true, false]) {
    it(`moves the pages later backups still use before removing a backup (${links ? 'hard links' : 'copied, without hard links'}); every kept one restores`, async () => {
      const env = links ? undefined : { SAFE_RUN_TEST_NO_HARDLINKS: '1' };
      const p = project();
      const expected: unknown[][] = [];
      for (let i = 0; i < 4; i++) {
        await guardedTouch(p.dir, p.dbPath, 1_000 * i + 1, 1_000 * i + 200, `run ${i} `);
        expected.push(rowsOf(p.dbPath));
      }
      const before = await listOf(p.dir);
      expect(before.filter((b) => b.pages !== null)).toHaveLength(3);
      const r = await runCli(['prune', '--keep-last', '1'], { cwd: p.dir, env });
      expect(r.code, r.stderr).toBe(0);
      // What it freed does not count the pages it moved into the kept backup (most of the full file).
      const freed = /\(([\d.]+) (B|kB|MB) freed\)/.exec(r.stderr);
      expect(freed, r.stderr).not.toBeNull();
      expect(Number(freed![1]) * { B: 1, kB: 1e3, MB: 1e6 }[freed![2] as 'B']).toBeLessThan(statSync(p.dbPath).size / 2);
      const after = await listOf(p.dir);
      expect(after).toHaveLength(1);
      const kept = after[0]!;
      // Its size now counts the pages it took over.
      expect(kept.files!.reduce((n, f) => n + f.size, 0)).toBeGreaterThan(statSync(p.dbPath).size * 0.9);
      const { code, report } = await verify(p.dir);
      expect(code, JSON.stringify(report.backups)).toBe(0);
      expect(report.summary.orphans).toBe(0);
      // The kept backup was taken before the last run: it holds the rows after the third.
      expect((await rowsRestored(p.dir, kept.id, 'kept')).rows).toEqual(expected[2]);
    });
  }

  for (const step of ['prune-pages-pack-renamed', 'prune-pages-hashes-renamed', 'prune-pages-moved']) {
    it(`killed with SIGKILL at ${step} leaves every listed backup restorable, and the next prune finishes`, async () => {
      const p = project(12_000);
      const expected = new Map<string, unknown[]>();
      for (let i = 0; i < 3; i++) {
        const before = rowsOf(p.dbPath);
        await guardedTouch(p.dir, p.dbPath, 1_000 * i + 1, 1_000 * i + 100, `run ${i} `);
        expected.set((await listOf(p.dir))[0]!.id, before);
      }
      const child = startCli(['prune', '--keep-last', '1'], { cwd: p.dir, env: { SAFE_RUN_TEST_PAUSE_AT: step } });
      let err = '';
      child.stderr.on('data', (d) => (err += d));
      const t0 = Date.now();
      while (!err.includes(`paused at ${step}`)) {
        if (child.exitCode !== null || Date.now() - t0 > 30_000) throw new Error(`prune did not reach ${step}: ${err}`);
        await new Promise((r) => setTimeout(r, 20));
      }
      child.kill('SIGKILL');
      await new Promise((r) => child.once('close', r));

      const listed = await listOf(p.dir);
      expect(listed.length).toBeGreaterThanOrEqual(1);
      for (const b of listed) expect((await rowsRestored(p.dir, b.id, `${step}-${b.id}`)).rows).toEqual(expected.get(b.id));
      const v = await verify(p.dir);
      expect(v.code, JSON.stringify(v.report.backups)).toBe(0);

      const again = await runCli(['prune', '--keep-last', '1', '--no-wait'], { cwd: p.dir });
      expect(again.code, again.stderr).toBe(0);
      const left = await listOf(p.dir);
      expect(left).toHaveLength(1);
      expect((await rowsRestored(p.dir, left[0]!.id, `${step}-last`)).rows).toEqual(expected.get(left[0]!.id));
      const v2 = await verify(p.dir);
      expect(v2.code, JSON.stringify(v2.report)).toBe(0);
      expect(v2.report.summary.orphans).toBe(0);
    });
  }
});
