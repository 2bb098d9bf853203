#!/usr/bin/env node
// The operation log at scale: what a guarded run and `safe-run log` cost with 50,000 earlier runs in the
// log against an empty one (issue 11: at most 1.5x and 2x). The big log is written directly, as an older
// safe-run left it (one file); one warm-up run archives it into segments and the active file is filled
// to just below the archive threshold (the slowest it gets), then both are measured.
//
//   node bench/log.js [--runs 7] [--count 50000] [--json]
import Database from 'better-sqlite3';
import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { fmtMs, killChildrenNow, settle, timed } from './lib.js';
import { fakeRun, writeBigLog } from './make-log.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
// SAFE_RUN_BENCH_BIN measures another build (e.g. the one before segments) against the same logs.
const BIN = process.env.SAFE_RUN_BENCH_BIN ?? path.join(HERE, '..', 'bin', 'safe-run.js');
const WORK = path.join(HERE, 'work', 'log');
const LIMITS = { run: 1.5, log: 2 };
/** One run short of what makes safe-run archive (ACTIVE_MAX in src/oplog/archive.ts). */
const FULL = 999;

const opts = parseArgs({ options: { runs: { type: 'string', default: '7' }, count: { type: 'string', default: '50000' }, json: { type: 'boolean', default: false } } }).values;
const RUNS = Number(opts.runs);
const COUNT = Number(opts.count);
const say = (msg) => process.stderr.write(`bench log: ${msg}\n`);
process.on('exit', killChildrenNow);

const ENV = { ...process.env, NO_COLOR: '1' };
delete ENV.FORCE_COLOR;

/** A project with one small SQLite database and, when `runs` > 0, a log of that many earlier runs. */
function project(name, runs) {
  const dir = path.join(WORK, name);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(path.join(dir, 'data'), { recursive: true });
  const db = new Database(path.join(dir, 'data', 'app.db'));
  db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT); INSERT INTO t (v) VALUES (1), (2), (3)');
  db.close();
  writeFileSync(path.join(dir, 'safe-run.config.json'), JSON.stringify({ backupDir: 'backups', logFile: 'logs/operations.json' }) + '\n');
  if (runs > 0) writeBigLog(path.join(dir, 'logs', 'operations.json'), runs, { dir });
  return dir;
}

const cli = (dir, args) => timed(process.execPath, [BIN, '--config', path.join(dir, 'safe-run.config.json'), ...args], { cwd: dir, env: ENV });
const guarded = (dir) => cli(dir, ['--db', 'data/app.db', '--', 'true']);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main() {
  rmSync(WORK, { recursive: true, force: true });
  const empty = project('empty', 0);
  say(`writing a log of ${COUNT} runs`);
  const big = project('big', COUNT);
  const migrate = await guarded(big);
  say(`first run on it (archives the old runs into segments, once): ${fmtMs(migrate.ms)}`);
  // The worst case between two archives: the active file one run short of being archived (999 runs).
  const active = path.join(big, 'logs', 'operations.json');
  const data = JSON.parse(readFileSync(active, 'utf8'));
  const more = Array.from({ length: Math.max(0, FULL - data.runs.length) }, (_, i) => fakeRun(COUNT + 1 + i, { dir: big }));
  writeFileSync(active, JSON.stringify({ ...data, runs: [...data.runs, ...more] }, null, 1) + '\n');
  say(`active file filled to ${data.runs.length + more.length} runs, ${data.archived?.length ?? 0} segments`);
  // The big project's log is restored to this before each run; the empty one is emptied.
  cpSync(path.join(big, 'logs'), path.join(WORK, 'big-logs'), { recursive: true });
  const t = { runEmpty: [], runBig: [], logEmpty: [], logBig: [] };
  // Interleaved, so that the other work on the machine weighs on both sides alike.
  for (let i = 0; i < RUNS; i++) {
    for (const [dir, key] of [[empty, 'runEmpty'], [big, 'runBig']]) {
      rmSync(path.join(dir, 'backups'), { recursive: true, force: true });
      rmSync(path.join(dir, 'logs'), { recursive: true, force: true });
      if (dir === big) cpSync(path.join(WORK, 'big-logs'), path.join(dir, 'logs'), { recursive: true });
      await settle(100);
      t[key].push((await guarded(dir)).ms);
    }
    for (const [dir, key] of [[empty, 'logEmpty'], [big, 'logBig']]) {
      if (dir === empty) rmSync(path.join(dir, 'logs'), { recursive: true, force: true });
      t[key].push((await cli(dir, ['log'])).ms);
    }
  }
  const m = Object.fromEntries(Object.entries(t).map(([k, v]) => [k, median(v)]));
  const ratios = { run: m.runBig / m.runEmpty, log: m.logBig / m.logEmpty };
  const result = { count: COUNT, rounds: RUNS, migrateMs: migrate.ms, medians: m, ratios, limits: LIMITS, ok: ratios.run <= LIMITS.run && ratios.log <= LIMITS.log };
  if (opts.json) {
    process.stdout.write(JSON.stringify(result, null, 2) + '\n');
  } else {
    const row = (what, a, b, r, limit) => `${what.padEnd(26)} ${fmtMs(a).padStart(9)} ${fmtMs(b).padStart(12)} ${`${r.toFixed(2)}x`.padStart(7)}  (at most ${limit}x) ${r <= limit ? 'ok' : 'OVER'}`;
    process.stdout.write(
      [
        `\nThe operation log with ${COUNT} earlier runs, ${FULL} of them in the active file (median of ${RUNS}; first run on the old single-file log: ${fmtMs(migrate.ms)})`,
        `${''.padEnd(26)} ${'empty log'.padStart(9)} ${`${COUNT} runs`.padStart(12)} ${'ratio'.padStart(7)}`,
        row('safe-run --db x -- true', m.runEmpty, m.runBig, ratios.run, LIMITS.run),
        row('safe-run log', m.logEmpty, m.logBig, ratios.log, LIMITS.log),
        '',
      ].join('\n'),
    );
  }
  rmSync(WORK, { recursive: true, force: true });
  if (!result.ok) process.exitCode = 1;
}

main().catch((err) => {
  say(err.stack ?? String(err));
  process.exitCode = 1;
});
