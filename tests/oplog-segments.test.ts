// The operation log at scale: old runs move into sealed segments, and every command that needs them
// still finds them; a damaged segment, a crash between writing a segment and the active file, and
// concurrent runs across an archive boundary leave every run in the log exactly once.
import { afterAll, describe, expect, it } from 'vitest';
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
// One generator of realistic old runs (another host's, ended long ago) for the bench and these tests.
import { fakeRun } from '../bench/make-log.js';
import type { LogData, RunRecord } from '../src/oplog/run-record.js';
import { makeSampleDb, rowsOf, runCli, tempProject, type CliResult } from './helpers/cli.js';
import { logOf } from './helpers/review.js';

const projects: Array<{ cleanup: () => void }> = [];
afterAll(() => projects.splice(0).forEach((p) => p.cleanup()));

/** A project whose log already holds `runs` (written directly, as a long history would have left it). */
function projectWithLog(runs: (dir: string) => RunRecord[], archived?: LogData['archived']) {
  const p = tempProject('safe-run-segments-', { rows: 10 });
  projects.push(p);
  const logDir = path.join(p.dir, 'logs');
  mkdirSync(logDir, { mode: 0o700 });
  const write = (file: string, data: unknown) => writeFileSync(path.join(logDir, file), JSON.stringify(data, null, 1));
  const read = (file = 'operations.json') => JSON.parse(readFileSync(path.join(logDir, file), 'utf8')) as LogData;
  const append = (more: RunRecord[]) => {
    const data = read();
    write('operations.json', { ...data, runs: [...data.runs, ...more] });
  };
  write('operations.json', { version: 1, runs: runs(p.dir), ...(archived ? { archived } : {}) });
  return { ...p, logDir, write, read, append, cli: (args: string[]) => runCli(args, { cwd: p.dir }) };
}

const old = (n: number, dir: string, from = 0) => Array.from({ length: n }, (_, i) => fakeRun(from + i, { dir }) as RunRecord);
const ok = (r: CliResult) => expect(r.code, r.stderr + r.stdout).toBe(0);
const counts = (runs: Array<{ id: string }>) => {
  const seen = new Map<string, number>();
  for (const r of runs) seen.set(r.id, (seen.get(r.id) ?? 0) + 1);
  return seen;
};

describe.concurrent('archiving the oldest runs into segments', () => {
  it('moves the oldest finished runs into a sealed {version, runs} file listed in "archived" once the log passes 1000 runs', async () => {
    const p = projectWithLog((dir) => old(1000, dir));
    const before = p.read().runs;
    ok(await p.cli(['--', 'true']));
    const active = p.read();
    expect(active.runs).toHaveLength(500);
    expect(active.archived).toEqual([{ file: 'operations-000001.json', runs: 501, from: before[0]!.startedAt, to: before[500]!.startedAt }]);
    const segment = p.read('operations-000001.json');
    expect(Object.keys(segment).sort()).toEqual(['runs', 'version']);
    expect(segment.runs).toEqual(before.slice(0, 501));
    // The new run is the newest in the active file, and finished there (patched after the archive).
    expect(active.runs.at(-1)).toMatchObject({ argv: ['true'], status: 'succeeded' });

    const all = await logOf(p.dir);
    expect(all).toHaveLength(1001);
    expect([...counts(all).values()].every((n) => n === 1)).toBe(true);
    const table = await p.cli(['log']);
    ok(table);
    expect(table.stdout).toMatch(/20 of 1001 runs/);
  });

  it('never archives a run whose process is still alive, nor the runs after it', async () => {
    const p = projectWithLog((dir) => [{ ...(fakeRun(0, { dir }) as RunRecord), host: os.hostname(), pid: process.pid, status: 'running' }, ...old(1000, dir, 1)]);
    ok(await p.cli(['--', 'true']));
    const active = p.read();
    expect(active.archived).toBeUndefined();
    expect(active.runs).toHaveLength(1002);
  });
});

describe.concurrent('reading runs that were archived', () => {
  /** A real run with a real backup, then 1000 later runs, then a run that archives the real one. */
  async function archivedRealRun() {
    const p = projectWithLog(() => []);
    ok(await p.cli(['--', 'sqlite3', p.dbPath, 'DELETE FROM users']));
    const real = p.read().runs[0]!;
    p.append(old(1000, p.dir));
    ok(await p.cli(['--', 'true']));
    const segment = p.read('operations-000001.json');
    expect(segment.runs.map((r) => r.id)).toContain(real.id);
    expect(p.read().runs.map((r) => r.id)).not.toContain(real.id);
    return { p, real };
  }

  it('shows an archived run by its full id and by a short prefix, and rolls it back', async () => {
    const { p, real } = await archivedRealRun();
    for (const id of [real.id, real.id.slice(0, 8)]) {
      const show = await p.cli(['show', id, '--json']);
      ok(show);
      expect(JSON.parse(show.stdout)).toMatchObject({ id: real.id, status: 'succeeded' });
    }
    expect(rowsOf(p.dbPath)).toEqual([]);
    ok(await p.cli(['rollback', real.id.slice(0, 8), '--yes']));
    expect(rowsOf(p.dbPath)).toHaveLength(10);
  });

  it('finds a prefix ambiguous when it matches one archived and one active run', async () => {
    const p = projectWithLog((dir) => {
      const runs = old(1001, dir);
      runs[0]!.id = 'abcd00000001';
      runs[1000]!.id = 'abcd00000002';
      return runs;
    });
    ok(await p.cli(['--', 'true']));
    expect(p.read('operations-000001.json').runs[0]!.id).toBe('abcd00000001');
    const show = await p.cli(['show', 'abcd']);
    expect(show.code).toBe(2);
    expect(show.stderr).toMatch(/ambiguous/);
    expect(show.stderr).toContain('abcd00000001');
    expect(show.stderr).toContain('abcd00000002');
  });

  it('reaches into segments for log --limit beyond the active file, newest first, in order', async () => {
    const p = projectWithLog((dir) => old(1000, dir));
    const written = p.read().runs.map((r) => r.id);
    ok(await p.cli(['--', 'true']));
    const shown = await logOf(p.dir, ['--limit', '700']);
    expect(shown).toHaveLength(700);
    expect(shown.slice(1).map((r) => r.id)).toEqual(written.slice(-699).reverse());
    const since = p.read('operations-000001.json').runs[300]!.startedAt;
    // A date on the command line is local time: pin the zone so that it means the run's UTC minute.
    const sinceRun = await runCli(['log', '--json', '--since', since.slice(0, 16).replace('T', ' ')], { cwd: p.dir, env: { TZ: 'UTC' } });
    ok(sinceRun);
    expect(JSON.parse(sinceRun.stdout)).toHaveLength(700 + 1);
    const table = await p.cli(['log', '--limit', '700', '--failed']);
    ok(table);
    expect(table.stdout).toMatch(/ (\d+) newest matching runs \(1001 logged\)|of \d+ matching runs \(1001 logged\)/);
  });
});

describe.concurrent('a damaged or half-written archive', () => {
  it('stops the commands that need a damaged segment with one line naming it, and leaves it as it was', async () => {
    const p = projectWithLog((dir) => old(1000, dir));
    const first = p.read().runs[0]!;
    ok(await p.cli(['--', 'true']));
    const segment = path.join(p.logDir, 'operations-000001.json');
    writeFileSync(segment, '{"version": 1, "runs": [{"id": "x"}]}');
    for (const args of [['show', first.id], ['log', '--limit', '800'], ['log', '--json']]) {
      const r = await p.cli(args);
      expect(r.code, args.join(' ')).toBe(6);
      expect(r.stderr).toContain(segment);
      expect(r.stderr).toMatch(/is damaged: runs\[0\] \(x\) has no "kind"/);
      expect(r.stderr.trim().split('\n')[0]).toContain(segment);
    }
    expect(readFileSync(segment, 'utf8')).toBe('{"version": 1, "runs": [{"id": "x"}]}');
    // The newest runs are all in the active file: log's default answer does not need the segment.
    ok(await p.cli(['log']));
  });

  it('says so when a listed segment is missing', async () => {
    const p = projectWithLog((dir) => old(3, dir), [{ file: 'operations-000001.json', runs: 2, from: '2024-01-01T00:00:00Z', to: '2024-01-01T00:00:00Z' }]);
    const r = await p.cli(['log', '--json']);
    expect(r.code).toBe(6);
    expect(r.stderr).toMatch(/operations-000001\.json, listed in .*operations\.json, is missing/);
  });

  it('refuses an "archived" entry that names a file outside the log directory, before a guarded run starts', async () => {
    const p = projectWithLog((dir) => old(3, dir), [{ file: '../../etc/passwd.json', runs: 1, from: '2024-01-01T00:00:00Z', to: '2024-01-01T00:00:00Z' }]);
    const run = await p.cli(['--', 'touch', 'marker']);
    expect(run.code).toBe(125);
    expect(run.stderr).toMatch(/operations\.json is damaged: archived\[0\] is not a segment entry/);
    expect(readdirSync(p.dir)).not.toContain('marker');
  });

  it('shows each run once, the active copy winning, when a crash left runs in both a segment and the active file', async () => {
    // As if safe-run died after listing the segment but before the active file lost its runs: the
    // segment holds older copies (still "running", no end) of runs the active file has finished.
    const p = projectWithLog((dir) => old(10, dir));
    const runs = p.read().runs;
    const stale = runs.slice(0, 4).map((r) => ({ ...r, status: 'running', endedAt: undefined, exitCode: undefined }));
    p.write('operations-000001.json', { version: 1, runs: stale });
    p.write('operations.json', { version: 1, runs, archived: [{ file: 'operations-000001.json', runs: 4, from: stale[0]!.startedAt, to: stale[3]!.startedAt }] });
    const all = await logOf(p.dir);
    expect(all.map((r) => r.id)).toEqual(runs.map((r) => r.id).reverse());
    expect(all.every((r) => r.status !== 'running')).toBe(true);
    const show = await p.cli(['show', runs[0]!.id, '--json']);
    ok(show);
    expect(JSON.parse(show.stdout).status).toBe(runs[0]!.status);
  });

  it('ignores a segment a crash left unlisted, and the next archive replaces it', async () => {
    const p = projectWithLog((dir) => old(1000, dir));
    const orphan = old(5, p.dir, 5000);
    p.write('operations-000001.json', { version: 1, runs: orphan });
    const before = await logOf(p.dir);
    expect(before).toHaveLength(1000);
    expect(before.map((r) => r.id)).not.toContain(orphan[0]!.id);
    ok(await p.cli(['--', 'true']));
    const segment = p.read('operations-000001.json');
    expect(segment.runs).toHaveLength(501);
    expect(segment.runs.map((r) => r.id)).not.toContain(orphan[0]!.id);
    const after = await logOf(p.dir);
    expect(after).toHaveLength(1001);
  });
});

describe('concurrent runs across an archive boundary', () => {
  it('keeps every run in the log exactly once when a dozen short runs cross the archive threshold together', async () => {
    const p = projectWithLog((dir) => old(995, dir));
    const written = p.read().runs.map((r) => r.id);
    const runs: Array<Promise<CliResult>> = [];
    for (let i = 0; i < 12; i++) {
      // A database each: the runs meet only at the log's lock.
      const db = path.join(p.dir, 'data', `db${i}.db`);
      makeSampleDb(db, { rows: 5 });
      runs.push(p.cli(['--db', db, '--', 'sh', '-c', ':', `run-${i}`]));
    }
    for (const r of await Promise.all(runs)) ok(r);
    const active = p.read();
    expect(active.archived?.length ?? 0).toBeGreaterThanOrEqual(1);
    const all = await logOf(p.dir);
    const seen = counts(all);
    expect(all).toHaveLength(995 + 12);
    expect([...seen.values()].every((n) => n === 1)).toBe(true);
    for (const id of written) expect(seen.get(id)).toBe(1);
    const mine = all.filter((r) => r.argv[0] === 'sh');
    expect(mine.map((r) => r.argv[3]).sort()).toEqual([...Array(12).keys()].map((i) => `run-${i}`).sort());
    for (const r of mine) expect(r).toMatchObject({ status: 'succeeded', exitCode: 0 });
    for (const r of mine) expect(r.backups).toHaveLength(1);
    // Every segment and the active file together hold each run once: nothing was copied twice on disk.
    const onDisk = [...(active.archived ?? []).flatMap((s) => p.read(s.file).runs), ...active.runs];
    expect(onDisk).toHaveLength(995 + 12);
    expect(readdirSync(p.logDir).filter((f) => f.includes('.tmp-'))).toEqual([]);
  });
});
