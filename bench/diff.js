// npm run bench:diff — safe-run diff against `sqldiff --summary` on 1 GB databases with 1 % of rows
// updated, in two shapes: an INTEGER PRIMARY KEY table and a table keyed by a UUID text primary key.
// Usage: node bench/diff.js [--size 1GB] [--fresh] [--json]   (reuses the databases of the last run unless --fresh)
import Database from 'better-sqlite3';
import { execFileSync, spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, rmSync, statfsSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const BIN = path.join(ROOT, 'bin', 'safe-run.js');
const WORK = path.join(ROOT, 'bench', 'work', 'diff');
const args = process.argv.slice(2);
const flag = (name) => args.includes(name);
const option = (name, fallback) => {
  const i = args.indexOf(name);
  return i >= 0 && args[i + 1] ? args[i + 1] : fallback;
};

function parseSize(text) {
  const m = /^(\d+(?:\.\d+)?)\s*(k|m|g)?i?b?$/i.exec(String(text).trim());
  if (!m) throw new Error(`--size takes e.g. 200MB or 1GB, not "${text}"`);
  const unit = { k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[(m[2] ?? '').toLowerCase()] ?? 1;
  return Math.round(Number(m[1]) * unit);
}

const SIZE = parseSize(option('--size', process.env.SAFE_RUN_BENCH_SIZE ?? '1GB'));
const ROW_BYTES = 1000;
const ROWS = Math.max(1000, Math.round(SIZE / (ROW_BYTES + 80)));
const log = (...a) => process.stderr.write(a.join(' ') + '\n');

function build(file, shape) {
  rmSync(path.dirname(file), { recursive: true, force: true });
  mkdirSync(path.dirname(file), { recursive: true });
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = OFF');
  db.exec(
    shape === 'int'
      ? 'CREATE TABLE items (id INTEGER PRIMARY KEY, payload BLOB NOT NULL, n INTEGER NOT NULL)'
      : 'CREATE TABLE items (id TEXT PRIMARY KEY, payload BLOB NOT NULL, n INTEGER NOT NULL)',
  );
  const insert = db.prepare(shape === 'int' ? 'INSERT INTO items (payload, n) VALUES (randomblob(?), 0)' : 'INSERT INTO items (id, payload, n) VALUES (?, randomblob(?), 0)');
  const batch = db.transaction((count) => {
    for (let i = 0; i < count; i++) shape === 'int' ? insert.run(ROW_BYTES) : insert.run(randomUUID(), ROW_BYTES);
  });
  for (let done = 0; done < ROWS; done += 50_000) batch(Math.min(50_000, ROWS - done));
  db.pragma('wal_checkpoint(TRUNCATE)');
  db.close();
  writeFileSync(path.join(path.dirname(file), 'safe-run.config.json'), JSON.stringify({ databases: [{ name: 'bench', url: path.basename(file) }] }));
}

/** The "risky script": update 1 % of the rows, spread at random, as one transaction. */
function updateScript(file) {
  return [
    process.execPath,
    '-e',
    `const D=require(${JSON.stringify(path.join(ROOT, 'node_modules', 'better-sqlite3'))});const d=new D(${JSON.stringify(file)});` +
      `d.exec("UPDATE items SET n = n + 1 WHERE rowid IN (SELECT rowid FROM items ORDER BY random() LIMIT ${Math.round(ROWS / 100)})");d.close();`,
  ];
}

function time(fn) {
  const t0 = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

function best(n, fn) {
  const runs = [];
  for (let i = 0; i < n; i++) runs.push(time(fn));
  return { best: Math.min(...runs), runs };
}

function cli(dir, cliArgs) {
  const r = spawnSync(process.execPath, [BIN, ...cliArgs], { cwd: dir, encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  if (r.status !== 0) throw new Error(`safe-run ${cliArgs.join(' ')} failed (${r.status}): ${r.stderr}`);
  return r.stdout;
}

function main() {
  if (!existsSync(path.join(ROOT, 'dist', 'bundle', 'cli.mjs'))) throw new Error('build first: npm run build');
  mkdirSync(WORK, { recursive: true });
  const free = statfsSync(WORK).bavail * statfsSync(WORK).bsize;
  if (free < SIZE * 5) throw new Error(`not enough free disk in ${WORK}: need ~${(SIZE * 5 / 1e9).toFixed(1)} GB, have ${(free / 1e9).toFixed(1)} GB`);
  const sqldiff = spawnSync('sqldiff', ['--help'], { encoding: 'utf8' }).error ? undefined : 'sqldiff';
  if (!sqldiff) log('sqldiff not found: install Debian\'s sqlite3-tools (apt-get install -y sqlite3-tools); skipping that comparison');
  const results = [];
  for (const shape of ['int', 'uuid']) {
    const dir = path.join(WORK, shape);
    const file = path.join(dir, 'bench.db');
    const reuse = !flag('--fresh') && existsSync(path.join(dir, 'logs', 'operations.json')) && Math.abs(statSync(file).size - SIZE) < SIZE * 0.5;
    if (reuse) {
      log(`[${shape}] reusing ${file} and its guarded run; --fresh to rebuild`);
    } else {
      log(`[${shape}] building ${(SIZE / 1e9).toFixed(2)} GB database (${ROWS.toLocaleString()} rows of ~1 KB)…`);
      build(file, shape);
      log(`[${shape}] guarded run updating 1 % of rows…`);
      cli(dir, ['--', ...updateScript(file)]);
    }
    const runs = JSON.parse(cli(dir, ['log', '--json']));
    const run = runs[0];
    const backup = run.backups[0].path;
    const ours = best(3, () => cli(dir, ['diff', run.id, '--json']));
    const check = JSON.parse(cli(dir, ['diff', run.id, '--json'])).diffs[0].tables[0];
    const theirs = sqldiff ? best(3, () => execFileSync('sqldiff', ['--summary', backup, file], { maxBuffer: 64 * 1024 * 1024 })) : undefined;
    const summary = sqldiff ? execFileSync('sqldiff', ['--summary', backup, file], { encoding: 'utf8' }).trim() : '';
    results.push({ shape, bytes: statSync(file).size, rows: ROWS, updated: check.updated, safeRun: ours, sqldiff: theirs, sqldiffSummary: summary });
    log(`[${shape}] safe-run diff ${ours.best.toFixed(0)} ms (updated ${check.updated}), sqldiff ${theirs ? theirs.best.toFixed(0) + ' ms (' + summary + ')' : 'skipped'}`);
  }
  if (flag('--json')) {
    process.stdout.write(JSON.stringify(results, null, 2) + '\n');
    return;
  }
  const target = { int: 0.5, uuid: 0.5 };
  const aim = { int: 0.5, uuid: 0.2 };
  console.log('\nsafe-run diff vs sqldiff --summary (best of 3, wall time, same run)');
  console.log('shape  size      updated   safe-run   sqldiff    ratio   target');
  for (const r of results) {
    const ratio = r.sqldiff ? r.safeRun.best / r.sqldiff.best : NaN;
    const verdict = r.sqldiff ? (ratio <= aim[r.shape] ? 'PASS (aim met)' : ratio <= target[r.shape] ? 'PASS' : 'MISS') : 'n/a';
    console.log(
      `${r.shape.padEnd(6)} ${(r.bytes / 1e9).toFixed(2).padStart(4)} GB  ${String(r.updated).padStart(7)}  ${(r.safeRun.best / 1000).toFixed(2).padStart(7)} s  ${r.sqldiff ? (r.sqldiff.best / 1000).toFixed(2).padStart(7) + ' s' : '      —  '}  ${Number.isNaN(ratio) ? '   —  ' : ratio.toFixed(2).padStart(5) + 'x'}   ≤${target[r.shape]}x (aim ${aim[r.shape]}x): ${verdict}`,
    );
  }
}

try {
  main();
} catch (err) {
  console.error(`bench: ${err.message}`);
  process.exit(1);
}
