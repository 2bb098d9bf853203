// Property: on random schemas and random changes, `safe-run diff --json` (page-level and plain SQL alike)
// equals a row-by-row count of both databases read in full. Replay a failure with FC_SEED=<seed>
// (printed); FC_RUNS=<n> runs more cases; FC_SHRINK=1 shrinks a failure (slow: each case spawns the CLI).
import Database from 'better-sqlite3';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { TableDiff } from '../src/engines/diff-types.js';
import { FIXTURES, runCli } from './helpers/cli.js';
import { truthCounts } from './helpers/row-truth.js';
import { bulkSql, createSql, insertSql, modelsOf, opSql, scenarios, truthSide, type Scenario, type TableModel } from './helpers/random-tables.js';

const seed = process.env.FC_SEED ? Number(process.env.FC_SEED) : Math.floor(Math.random() * 2 ** 31);
const numRuns = Number(process.env.FC_RUNS ?? 12);
/** How the tables were compared across all runs: printed, to see that the page-level path had work. */
const methods = new Map<string, number>();

/** An application holding the database open with `sql` committed in its -wal; stop() lets it exit. */
async function holdInWal(file: string, sql: string) {
  const child = spawn(process.execPath, [path.join(FIXTURES, 'diff-wal-holder.mjs'), file, sql], { stdio: ['pipe', 'pipe', 'pipe'] });
  let err = '';
  child.stderr.on('data', (d) => (err += d));
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (d) => String(d).includes('ready') && resolve());
    child.on('exit', (code) => reject(new Error(`holder exited with ${code}: ${err}`)));
  });
  return () => new Promise<void>((resolve) => (child.on('exit', () => resolve()), child.stdin.end()));
}

async function check(s: Scenario) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'safe-run-diff-prop-'));
  try {
    const file = path.join(dir, 'data', 'app.db');
    mkdirSync(path.dirname(file));
    writeFileSync(path.join(dir, 'safe-run.config.json'), JSON.stringify({ databases: [{ name: 'app', url: 'data/app.db' }] }));
    const models = modelsOf(s);
    const initial = models.map((m) => ({ ...m, columns: m.columns.map((c) => ({ ...c })) }));
    const db = new Database(file);
    db.pragma('journal_mode = WAL');
    db.exec(
      models
        .map((m, i) => [createSql(m), s.tables[i]!.bulk ? bulkSql(m, s.tables[i]!.bulk) : '', ...s.tables[i]!.rows.map((r) => insertSql(m, r))].join('\n'))
        .join('\n'),
    );
    db.close();
    // The model follows renames and rebuilds as the SQL is generated, in order.
    const sql = s.ops.map((op, i) => opSql(models, op, i));
    const inRun = s.heldInWal ? s.inRun : sql.length;
    const run = await runCli(['--db', 'data/app.db', '--', 'sqlite3', file, sql.slice(0, inRun).join('\n') || 'SELECT 1;'], { cwd: dir });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).not.toMatch(/could not compare|not compared/);
    const stop = s.heldInWal ? await holdInWal(file, sql.slice(inRun).join('\n') || 'SELECT 1') : undefined;
    try {
      const backup = JSON.parse((await runCli(['list', '--json'], { cwd: dir })).stdout)[0].path as string;
      const diffOf = async (env: Record<string, string>) => {
        const out = await runCli(['diff', 'last', '--json'], { cwd: dir, env });
        expect(out.code, out.stderr).toBe(0);
        return JSON.parse(out.stdout).diffs[0].tables as TableDiff[];
      };
      const pages = await diffOf({});
      for (const t of pages) methods.set(t.method, (methods.get(t.method) ?? 0) + 1);
      const plain = await diffOf({ SAFE_RUN_DIFF_PLAIN: '1' });
      const counts = (t: TableDiff | undefined) => t && { status: t.status, inserted: t.inserted, deleted: t.deleted, updated: t.updated, rowsBefore: t.rowsBefore, rowsAfter: t.rowsAfter };
      expect(pages.map(counts), 'page-level and plain SQL answers').toEqual(plain.map(counts));
      for (const [i, m] of models.entries()) {
        const expected = truthCounts(truthSide(backup, initial[i] as TableModel), truthSide(file, m));
        const got = pages.find((t) => t.name === m.name);
        expect({ table: m.name, ...counts(got) }, `${m.name} (${initial[i]!.kind} → ${m.kind})\n${sql.join('\n')}`).toEqual({
          table: m.name,
          status: expected.inserted + expected.deleted + expected.updated > 0 ? 'changed' : 'unchanged',
          ...expected,
        });
      }
    } finally {
      await stop?.();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('safe-run diff on random schemas and changes', () => {
  it('counts exactly what a row-by-row comparison counts, page-level and plain SQL alike', { timeout: 300_000 }, async () => {
    console.log(`fast-check seed ${seed} (replay: FC_SEED=${seed}), ${numRuns} runs`);
    await fc.assert(
      fc.asyncProperty(scenarios, (s) => check(s)),
      { seed, numRuns, endOnFailure: process.env.FC_SHRINK !== '1' },
    );
    console.log(`tables compared by method: ${JSON.stringify(Object.fromEntries(methods))}`);
  });
});
