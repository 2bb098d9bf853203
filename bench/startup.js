#!/usr/bin/env node
// safe-run's start-up overhead (issue 13: `safe-run -- true` on a 1 MB database at most 50 ms above
// `node -e 0`), and where it goes: each piece timed on its own, all interleaved so that drift on a shared
// machine hits them alike, best of N.
//
//   npm run bench:startup                  best of 15
//   node bench/startup.js --runs 30 --json
//   SAFE_RUN_BENCH_BIN=/other/checkout/bin/safe-run.js npm run bench:startup   (another build, e.g. before)
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { ensureDb } from './make-db.js';
import { best, fmtBytes, killChildrenNow, timed } from './lib.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const BIN = process.env.SAFE_RUN_BENCH_BIN ?? path.join(HERE, '..', 'bin', 'safe-run.js');
const BUILD = path.resolve(path.dirname(BIN), '..');
const WORK = path.join(HERE, 'work');
const DB = path.join(WORK, 'bench-startup-1MB.db');
const LIMIT_MS = 50;

const opts = parseArgs({ options: { runs: { type: 'string', default: '15' }, json: { type: 'boolean', default: false } } }).values;
const RUNS = Number(opts.runs);
const say = (msg) => process.stderr.write(`bench startup: ${msg}\n`);
process.on('exit', killChildrenNow);

const ENV = { ...process.env, NO_COLOR: '1' };
delete ENV.FORCE_COLOR;

mkdirSync(WORK, { recursive: true });
const db = await ensureDb(DB, 1e6, { log: say });
const proj = path.join(WORK, 'proj-startup-bench');
rmSync(proj, { recursive: true, force: true });
mkdirSync(proj, { recursive: true });
const config = path.join(proj, 'safe-run.config.json');
writeFileSync(config, JSON.stringify({ backupDir: 'backups', logFile: 'logs/operations.json' }) + '\n');
const clear = () => {
  rmSync(path.join(proj, 'backups'), { recursive: true, force: true });
  rmSync(path.join(proj, 'logs'), { recursive: true, force: true });
};

/** The guarded run, with the times its stderr lines arrived: backup verified, command started, ended, exit. */
async function guardedRun() {
  clear();
  const at = {};
  const onLine = (line, ms) => {
    if (at.backedUp === undefined && /verified in/.test(line)) at.backedUp = ms;
    else if (at.commandEnded === undefined && /^── exit/.test(line)) at.commandEnded = ms;
    else if (/^changed\s/.test(line)) at.changed = ms;
  };
  const r = await timed(process.execPath, [BIN, '--config', config, '--db', DB, '--', 'true'], { cwd: proj, env: ENV, onLine });
  return { ms: r.ms, ...at };
}

/** From fork to "the locks are held" for a lock keeper, timed inside this process (undefined: no keeper in this build). */
let keepLocks;
try {
  ({ keepLocks } = await import(pathToFileURL(path.join(BUILD, 'dist', 'lock', 'kept-locks.js')).href));
} catch {
  say('no dist/lock/kept-locks.js in this build: the keeper row is skipped');
}
async function keeper() {
  const t0 = performance.now();
  const held = await keepLocks([path.join(WORK, 'bench-startup.lock')], { purpose: 'bench', waitMs: 5000 });
  const ms = performance.now() - t0;
  await held.release();
  return ms;
}

const node = (code) => timed(process.execPath, ['-e', code], { cwd: BUILD, env: ENV }).then((r) => r.ms);
const rows = {
  nodeE0: { what: 'node -e 0', runs: [], run: () => node('0') },
  version: { what: 'safe-run --version (the CLI entry loaded)', runs: [], run: () => timed(process.execPath, [BIN, '--version'], { env: ENV }).then((r) => r.ms) },
  sqlite: { what: 'node + require better-sqlite3 (native load)', runs: [], run: () => node("require('better-sqlite3')") },
  keeper: keepLocks && { what: 'lock keeper: fork → locks held (in-process)', runs: [], run: keeper, inProcess: true },
  run: { what: `safe-run -- true on ${fmtBytes(db.size)}`, runs: [], run: guardedRun },
};
for (const k of Object.keys(rows)) if (!rows[k]) delete rows[k];

say(`${RUNS} rounds of ${Object.keys(rows).length} measurements (${BIN})`);
await rows.run.run(); // warm-up: page cache, first-run directories
for (let i = 0; i < RUNS; i++) for (const row of Object.values(rows)) row.runs.push(await row.run());
clear();

// The phases of the fastest run (a minimum per phase would mix runs, and a line that arrives in the same
// read as the one before shows as a 0 ms phase).
const fastest = rows.run.runs.reduce((a, b) => (a.ms <= b.ms ? a : b));
const span = (from, to) => (from !== undefined && to !== undefined ? to - from : undefined);
const e0 = best(rows.nodeE0.runs);
const figures = Object.fromEntries(
  Object.entries(rows).map(([k, r]) => [k, { what: r.what, bestMs: round(best(r.runs.map((x) => (typeof x === 'number' ? x : x.ms)))), ...(r.inProcess ? { inProcess: true } : {}) }]),
);
figures.run.phases = {
  'start → backup verified': round(fastest.backedUp),
  'backup verified → command ended': round(span(fastest.backedUp, fastest.commandEnded)),
  'command ended → "changed" line': round(span(fastest.commandEnded, fastest.changed)),
  '"changed" line → exit': round(span(fastest.changed, fastest.ms)),
};
const overhead = figures.run.bestMs - e0;
const result = {
  bin: BIN,
  node: process.version,
  runs: RUNS,
  dbSize: db.size,
  figures,
  target: { name: `safe-run -- true at most ${LIMIT_MS} ms above node -e 0`, overheadMs: round(overhead), limitMs: LIMIT_MS, verdict: overhead <= LIMIT_MS ? 'PASS' : 'MISS' },
};

if (opts.json) {
  process.stdout.write(JSON.stringify(result, null, 2) + '\n');
} else {
  const lines = [`safe-run start-up, best of ${RUNS} (node ${process.version}; ${BIN})`, ''];
  const w = Math.max(...Object.values(figures).map((f) => f.what.length), ...Object.keys(figures.run.phases).map((k) => k.length + 2));
  for (const f of Object.values(figures)) {
    lines.push(`${f.what.padEnd(w)}  ${fmt(f.bestMs)}   ${f === figures.nodeE0 || f.inProcess ? '' : `+${fmt(f.bestMs - e0)} over node -e 0`}`);
    if (f.phases) for (const [k, v] of Object.entries(f.phases)) lines.push(`  ${k.padEnd(w - 2)}  ${fmt(v)}   (its fastest run)`);
  }
  lines.push('', `target: ${result.target.name}: ${fmt(overhead)} → ${result.target.verdict}`);
  process.stdout.write(lines.join('\n') + '\n');
}

function round(ms) {
  return ms == null || Number.isNaN(ms) ? null : Math.round(ms * 10) / 10;
}
function fmt(ms) {
  return ms == null ? '—' : `${ms.toFixed(1).padStart(6)} ms`;
}
