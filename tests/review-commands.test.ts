// log, show and list end to end: the real CLI over real SQLite files in a temp project.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appendFileSync, openSync, readFileSync, rmSync, writeSync, closeSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { makeSampleDb, runCli, tempProject, type CliResult } from './helpers/cli.js';

const LONG_DB = 'customer-relationship-management-archive-of-2026';
const LONG_SCRIPT = `console.log(${JSON.stringify('a rather long message that makes this command much wider than eighty columns')})`;

interface RunJson {
  id: string;
  argv: string[];
  status: string;
  exitCode: number | null;
  signal: string | null;
  databases: string[];
  backups: Array<{ id: string; path: string; present: boolean; verified: boolean | null; verifyError: string | null }>;
}

/** A project with `app` and a second database with a long name, and a handful of different runs. */
function reviewProject() {
  const p = tempProject('safe-run-review-');
  makeSampleDb(path.join(p.dir, 'data', 'crm.db'), { rows: 10 });
  makeSampleDb(path.join(p.dir, 'data', 'scratch.db'), { rows: 5 });
  writeFileSync(
    path.join(p.dir, 'safe-run.config.json'),
    JSON.stringify({ databases: [{ name: 'app', url: 'data/app.db' }, { name: LONG_DB, url: 'data/crm.db' }] }),
  );
  return p;
}

const cli = (dir: string, args: string[], env?: Record<string, string | undefined>) => runCli(args, { cwd: dir, env });

async function guarded(dir: string, args: string[]): Promise<void> {
  const r = await cli(dir, args);
  if (r.code === 125) throw new Error(`guarded run failed to start:\n${r.stderr}`);
}

async function logJson(dir: string, args: string[] = []): Promise<RunJson[]> {
  const r = await cli(dir, ['log', '--json', ...args]);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as RunJson[];
}

/** Move a run's start back in time, as if it had been made `days` ago. */
function backdate(dir: string, runId: string, days: number): void {
  const file = path.join(dir, 'logs', 'operations.json');
  const data = JSON.parse(readFileSync(file, 'utf8')) as { runs: Array<{ id: string; startedAt: string }> };
  const run = data.runs.find((r) => r.id === runId)!;
  run.startedAt = new Date(Date.now() - days * 86_400_000).toISOString();
  writeFileSync(file, JSON.stringify(data));
}

/** No line over `width` columns; show's file paths are exempt (a clipped path is of no use). */
function expectFits(out: string, width = 80): void {
  for (const line of out.split('\n')) {
    if (/^\s+file {4}\S+$/.test(line)) continue;
    expect(line.length, `too wide: ${line}`).toBeLessThanOrEqual(width);
  }
}

function expectNoEscapes(r: CliResult): void {
  expect(r.stdout).not.toMatch(/\x1b\[/);
  expect(r.stderr).not.toMatch(/\x1b\[/);
}

/** Rows of a table: the lines between the header and the footer. */
const rowsOf = (out: string) => out.trimEnd().split('\n').slice(1, -1);

describe('safe-run log', () => {
  const p = reviewProject();
  const ids: Record<string, string> = {};
  beforeAll(async () => {
    await guarded(p.dir, ['--', 'sqlite3', 'data/app.db', 'UPDATE users SET balance = 0 WHERE id = 1']);
    await guarded(p.dir, ['--db', 'app', '--', 'sh', '-c', 'exit 3']);
    await guarded(p.dir, ['--db', LONG_DB, '--', 'node', '-e', LONG_SCRIPT]);
    await guarded(p.dir, ['--db', 'data/app.db', '--', 'sh', '-c', 'kill -TERM $$']);
    await guarded(p.dir, ['--db', 'data/scratch.db', '--', 'true']);
    const runs = await logJson(p.dir);
    [ids.scratch, ids.killed, ids.long, ids.failed, ids.update] = runs.map((r) => r.id);
    backdate(p.dir, ids.update!, 3);
  });
  afterAll(() => p.cleanup());

  it('lists runs newest first with their exit status, duration and databases', async () => {
    const r = await cli(p.dir, ['log']);
    expect(r.code).toBe(0);
    const rows = rowsOf(r.stdout);
    expect(rows).toHaveLength(5);
    expect(r.stdout.split('\n')[0]).toMatch(/^RUN\s+WHEN\s+COMMAND\s+EXIT\s+TOOK\s+DATABASES$/);
    expect(rows[0]).toMatch(/^[0-9a-f]{4,}\s+today \d\d:\d\d\s+true\s+0\s+\S+( ms)?\s+scratch$/);
    expect(rows[1]).toContain('SIGTERM');
    expect(rows[3]).toMatch(/sh -c 'exit 3'\s+3\s/);
    expect(rows[4]).toMatch(/sqlite3 data\/app\.db/);
    expect(r.stdout.trimEnd().split('\n').at(-1)).toBe('5 of 5 runs · safe-run show <run> for one · --json for all fields');
  });

  it('fits 80 columns with a long command and a long database name', async () => {
    const r = await cli(p.dir, ['log']);
    expect(r.stdout).toContain('node -e');
    expect(r.stdout).toContain('customer-');
    expectFits(r.stdout);
  });

  it('--failed keeps non-zero exits and signals', async () => {
    const runs = await logJson(p.dir, ['--failed']);
    expect(runs.map((r) => r.id)).toEqual([ids.killed, ids.failed]);
    const r = await cli(p.dir, ['log', '--failed']);
    expect(rowsOf(r.stdout)).toHaveLength(2);
    expect(r.stdout).toContain('2 of 2 matching runs (5 logged)');
  });

  it('--since takes a span or a date and refuses anything else with a hint', async () => {
    expect((await logJson(p.dir, ['--since', '2d'])).map((r) => r.id)).not.toContain(ids.update);
    expect(await logJson(p.dir, ['--since', '4d'])).toHaveLength(5);
    expect(await logJson(p.dir, ['--since', '30m'])).toHaveLength(4);
    const d = new Date(Date.now() - 86_400_000);
    const yesterday = `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
    expect(await logJson(p.dir, ['--since', yesterday])).toHaveLength(4);
    const bads = ['3x', 'last week', '2026-02-30'];
    const results = await Promise.all(bads.map((bad) => cli(p.dir, ['log', '--since', bad])));
    for (const [i, bad] of bads.entries()) {
      const r = results[i]!;
      expect(r.code).toBe(2);
      expect(r.stderr).toContain(`not "${bad}"`);
      expect(r.stderr).toMatch(/try: e\.g\. --since 30m/);
    }
  });

  it('--db selects by configured name or by path, as the guarded run does', async () => {
    expect((await logJson(p.dir, ['--db', 'app'])).map((r) => r.id)).toEqual([ids.killed, ids.failed, ids.update]);
    // the first run had no --db: it backed up every configured database
    expect((await logJson(p.dir, ['--db', 'data/crm.db'])).map((r) => r.id)).toEqual([ids.long, ids.update]);
    expect((await logJson(p.dir, ['--db', 'data/scratch.db'])).map((r) => r.id)).toEqual([ids.scratch]);
    expect((await logJson(p.dir, ['--db', LONG_DB, '--db', 'data/scratch.db'])).map((r) => r.id)).toEqual([ids.scratch, ids.long, ids.update]);
    const none = await cli(p.dir, ['log', '--db', 'data/nothing.db']);
    expect(none.code).toBe(0);
    expect(none.stdout).toBe('no runs match (5 in the log)\n');
  });

  it('--limit shows the newest N and says how many there are', async () => {
    const r = await cli(p.dir, ['log', '--limit', '2']);
    expect(rowsOf(r.stdout)).toHaveLength(2);
    expect(r.stdout).toContain('2 of 5 runs');
    expect(await logJson(p.dir, ['--limit', '3'])).toHaveLength(3);
    expect((await cli(p.dir, ['log', '--limit', '0'])).code).toBe(2);
  });

  it('colours the exit status on request and never with NO_COLOR', async () => {
    const coloured = await cli(p.dir, ['log'], { NO_COLOR: undefined, FORCE_COLOR: '1' });
    expect(coloured.stdout).toMatch(/\x1b\[3[12]m/);
    expectFits(coloured.stdout.replace(/\x1b\[[0-9;]*m/g, ''));
    expectNoEscapes(await cli(p.dir, ['log'], { NO_COLOR: '1', FORCE_COLOR: '1' }));
  });
});

describe('safe-run show', () => {
  const p = reviewProject();
  let runs: RunJson[] = [];
  beforeAll(async () => {
    await guarded(p.dir, ['--reason', 'zero a balance', '--', 'sqlite3', 'data/app.db', 'UPDATE users SET balance = 0 WHERE id = 1']);
    await guarded(p.dir, ['--db', 'app', '--', 'sh', '-c', 'exit 3']);
    await guarded(p.dir, ['--db', 'app', '--', 'true']);
    runs = await logJson(p.dir);
  });
  afterAll(() => p.cleanup());

  it('prints the whole record with each backup verified and the rollback command', async () => {
    const target = runs.at(-1)!;
    const r = await cli(p.dir, ['show', target.id.slice(0, 8)]);
    expect(r.code, r.stderr).toBe(0);
    const out = r.stdout;
    expect(out).toMatch(new RegExp(`^run\\s+${target.id}\\s+exit 0$`, 'm'));
    expect(out).toMatch(/^command\s+sqlite3 data\/app\.db 'UPDATE users SET balance = 0 WHERE id = 1'$/m);
    expect(out).toMatch(/^reason\s+zero a balance$/m);
    expect(out).toMatch(new RegExp(`^cwd\\s+${p.dir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`, 'm'));
    expect(out).toMatch(/^by\s+\S+ on \S+, pid \d+, safe-run /m);
    expect(out).toMatch(/^started\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\d/m);
    expect(out).toMatch(/^ended\s+.*after/m);
    for (const b of target.backups) expect(out).toContain(b.id);
    expect(out).toMatch(/^\s+sha256\s+[0-9a-f]{64}$/m);
    expect(out).toMatch(/state\s+verified: sha256 matches, quick_check ok/);
    expect(out).toMatch(new RegExp(`^undo\\s+safe-run -C \\S+ rollback ${target.id}$`, 'm'));
    expectFits(out);
  });

  it('"last" is the newest run; the failed run shows its exit code', async () => {
    const r = await cli(p.dir, ['show', 'last']);
    expect(r.stdout).toMatch(new RegExp(`^run\\s+${runs[0]!.id}\\s+exit 0$`, 'm'));
    const failed = await cli(p.dir, ['show', runs[1]!.id]);
    expect(failed.stdout).toMatch(/^run\s+[0-9a-f]{12}\s+exit 3$/m);
  });

  it('shows a backup whose file was deleted as missing, still exiting 0', async () => {
    const target = runs[0]!;
    rmSync(target.backups[0]!.path);
    const r = await cli(p.dir, ['show', target.id]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/state\s+missing: the file is gone/);
    expect(r.stdout).toMatch(/would be refused: backup [0-9a-f]{12} is missing/);
    const json = JSON.parse((await cli(p.dir, ['show', target.id, '--json'])).stdout) as RunJson;
    expect(json.backups[0]).toMatchObject({ present: false, verified: false, verifyError: 'the file is gone' });
  });

  it('shows a backup with flipped bytes as not verifying, still exiting 0', async () => {
    const target = runs[1]!;
    const file = target.backups[0]!.path;
    const fd = openSync(file, 'r+');
    writeSync(fd, Buffer.from([0xde, 0xad, 0xbe, 0xef]), 0, 4, 5000);
    closeSync(fd);
    const r = await cli(p.dir, ['show', target.id]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/state\s+does not verify: sha256 differs/);
    const json = JSON.parse((await cli(p.dir, ['show', target.id, '--json'])).stdout) as RunJson;
    expect(json.backups[0]!.present).toBe(true);
    expect(json.backups[0]!.verified).toBe(false);
    expect(json.backups[0]!.verifyError).toMatch(/sha256 differs/);
    const fast = JSON.parse((await cli(p.dir, ['show', target.id, '--json', '--no-verify'])).stdout) as RunJson;
    expect(fast.backups[0]).toMatchObject({ present: true, verified: null, verifyError: null });
  });

  it('--json has the record and the documented fields', async () => {
    const target = runs.at(-1)!;
    const json = JSON.parse((await cli(p.dir, ['show', target.id, '--json'])).stdout);
    for (const key of ['id', 'kind', 'status', 'argv', 'cwd', 'user', 'host', 'startedAt', 'endedAt', 'durationMs', 'exitCode', 'databases', 'rollbackCommand']) {
      expect(json).toHaveProperty(key);
    }
    expect(json.backups[0]).toMatchObject({ id: target.backups[0]!.id, present: true, verified: true, verifyError: null, kind: 'pre-run', inStore: true });
    expect(json.backups[0].sha256).toMatch(/^[0-9a-f]{64}$/);
  });

  it('shows what a rollback restored', async () => {
    const source = runs.at(-1)!; // the oldest: its backup is still intact
    const rb = await cli(p.dir, ['rollback', source.id, '--yes']);
    expect(rb.code, rb.stderr).toBe(0);
    const r = await cli(p.dir, ['show', 'last']);
    expect(r.stdout).toMatch(/^rollback\s+[0-9a-f]{12}\s+restored$/m);
    expect(r.stdout).toMatch(new RegExp(`^command\\s+safe-run rollback ${source.id}$`, 'm'));
    expect(r.stdout).toMatch(new RegExp(`^  ${source.backups[0]!.id}  app$`, 'm'));
    expect(r.stdout).toMatch(/^ {4}by [\w-]+: pre-run backup of today \d\d:\d\d, before [0-9a-f]{8}: sqlite3/m);
    expect(r.stdout).toContain('safety backups taken before the restore');
    expect(r.stdout).toMatch(/^undo\s+safe-run -C \S+ rollback [0-9a-f]{12}$/m);
    expectFits(r.stdout);
  });

  it('rejects unknown ids and takes one id', async () => {
    const unknown = await cli(p.dir, ['show', 'abcdef0123456']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('no run with id abcdef0123456');
    expect((await cli(p.dir, ['show', 'not-hex'])).code).toBe(2);
    expect((await cli(p.dir, ['show'])).code).toBe(2);
  });
});

describe('run id prefixes', () => {
  const p = tempProject('safe-run-review-');
  afterAll(() => p.cleanup());

  it('any unique prefix works; an ambiguous one lists the candidates and exits 2', async () => {
    // 17 ids over 16 first characters must share one; usually a few runs are enough.
    let runs: RunJson[] = [];
    let shared: string | undefined;
    for (let i = 0; i < 17 && !shared; i++) {
      await guarded(p.dir, ['--', 'true']);
      runs = await logJson(p.dir);
      const firsts = runs.map((r) => r.id[0]!);
      shared = firsts.find((c, j) => firsts.indexOf(c) !== j);
    }
    expect(shared).toBeDefined();
    const ambiguous = await cli(p.dir, ['show', shared!]);
    expect(ambiguous.code).toBe(2);
    expect(ambiguous.stderr).toContain(`run id ${shared} is ambiguous`);
    const candidates = runs.filter((r) => r.id.startsWith(shared!));
    for (const c of candidates) expect(ambiguous.stderr).toContain(c.id);
    expect(ambiguous.stdout).toBe('');

    const ids = runs.map((r) => r.id);
    const unique = ids.map((id) => [1, 2, 3, 4, 5, 6].map((n) => id.slice(0, n)).find((pre) => ids.filter((x) => x.startsWith(pre)).length === 1)!);
    const shortest = unique.reduce((a, b) => (a.length <= b.length ? a : b));
    const r = await cli(p.dir, ['show', shortest, '--no-verify']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(ids.find((id) => id.startsWith(shortest)));

    // log abbreviates every id to a prefix that is unique among all runs
    const log = await cli(p.dir, ['log']);
    const shown = rowsOf(log.stdout).map((l) => l.split(/\s+/)[0]!);
    for (const s of shown) expect(ids.filter((id) => id.startsWith(s))).toHaveLength(1);
  });
});

describe('safe-run list', () => {
  const p = reviewProject();
  beforeAll(async () => {
    await guarded(p.dir, ['--', 'node', '-e', LONG_SCRIPT]);
    await guarded(p.dir, ['--db', 'app', '--', 'sqlite3', 'data/app.db', 'DELETE FROM users WHERE id < 10']);
    const manual = await cli(p.dir, ['backup', '--db', 'app', '--reason', 'before the upgrade']);
    expect(manual.code, manual.stderr).toBe(0);
  });
  afterAll(() => p.cleanup());

  it('shows each backup with its kind, what it was for, size and state, and totals', async () => {
    const r = await cli(p.dir, ['list']);
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^BACKUP\s+DATABASE\s+KIND\s+REASON \/ COMMAND\s+AGE\s+SIZE\s+CHECKED\s+STATE$/);
    const rows = lines.slice(1, -2);
    expect(rows).toHaveLength(4);
    expect(rows[0]).toMatch(/^[0-9a-f]{4,}\s+app\s+manual\s+before the upgrade\s+\d+ s\s+[\d.]+ kB\s+never\s+verified$/);
    expect(rows[1]).toMatch(/app\s+pre-run\s+sqlite3 data\/app\./); // clipped: CHECKED takes its columns
    expect(rows.filter((l) => /pre-run\s+node -e/.test(l))).toHaveLength(2);
    expect(lines.at(-2)).toMatch(/^4 backups: 3 pre-run, 1 manual · [\d.]+ kB$/);
    expect(lines.at(-1)).toMatch(/^newest today \d\d:\d\d \(\d+ s ago\) · oldest today \d\d:\d\d \(\d+ s ago\)$/);
    expectFits(r.stdout);
    expect(r.stdout).toContain('customer-');
  });

  it('--kind and --db filter, and a wrong kind is a usage error', async () => {
    const manual = await cli(p.dir, ['list', '--kind', 'manual']);
    expect(rowsOf(manual.stdout).slice(0, -1)).toHaveLength(1);
    expect(manual.stdout).toContain('1 of 4 backups: 1 manual');
    const crm = JSON.parse((await cli(p.dir, ['list', '--db', LONG_DB, '--json'])).stdout);
    expect(crm.map((b: { database: string }) => b.database)).toEqual([LONG_DB]);
    const byPath = JSON.parse((await cli(p.dir, ['list', '--db', 'data/app.db', '--kind', 'pre-run', '--json'])).stdout);
    expect(byPath).toHaveLength(2);
    const bad = await cli(p.dir, ['list', '--kind', 'nightly']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--kind takes pre-run, manual, pre-restore, startup, scheduled, shutdown, not "nightly"');
  });

  it('--json keeps every field and adds present and state: missing or changed files show', async () => {
    const before = JSON.parse((await cli(p.dir, ['list', '--json'])).stdout);
    for (const key of ['id', 'database', 'source', 'path', 'sha256', 'size', 'kind', 'createdAt', 'runId', 'reason', 'engine', 'durationMs', 'check', 'pageSize', 'pageCount', 'userVersion', 'tables', 'safeRunVersion', 'present', 'state']) {
      expect(before[0]).toHaveProperty(key);
    }
    expect(before.every((b: { state: string }) => b.state === 'verified')).toBe(true);
    rmSync(before[0].path);
    appendFileSync(before[1].path, 'trailing bytes');
    const after = JSON.parse((await cli(p.dir, ['list', '--json'])).stdout);
    expect(after[0]).toMatchObject({ present: false, state: 'missing' });
    expect(after[1]).toMatchObject({ present: true, state: 'changed' });
    const table = await cli(p.dir, ['list']);
    expect(table.stdout).toMatch(/missing$/m);
    expect(table.stdout).toMatch(/changed$/m);
    expect(table.stdout).toContain('1 missing · 1 changed');
    expectNoEscapes(await cli(p.dir, ['list'], { NO_COLOR: '1', FORCE_COLOR: '1' }));
  });
});
