#!/usr/bin/env node
// The MariaDB engine's benchmark: backup and rollback by each strategy through the real CLI, as ratios to
// `mariadb-dump --single-transaction` and to loading that dump with `mariadb`, measured in the same run on
// the same database (four InnoDB tables of md5/random text), plus loading the dump per table in parallel
// (two streams) against the single stream.
//
//   npm run build && npm run bench:mariadb               ~1 GB database
//   npm run bench:mariadb -- --size 300MB                or SAFE_RUN_BENCH_SIZE=300MB
//   SAFE_RUN_BENCH_MY=mysql://user@host:3306              the server (default root@127.0.0.1:3306)
//
// Every schema it makes is named srbench_… (and safe_run_… for safe-run's copies) and dropped at the end.
import { mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import mysql from 'mysql2/promise';
import { fmtBytes, fmtMs, parseSize, settle, timed } from './lib.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const WORK = path.join(HERE, 'work', 'mariadb');
const BIN = path.join(HERE, '..', 'bin', 'safe-run.js');
const SERVER = process.env.SAFE_RUN_BENCH_MY ?? 'mysql://root@127.0.0.1:3306';
const { values } = parseArgs({ options: { size: { type: 'string' } } });
const SIZE = parseSize(values.size ?? process.env.SAFE_RUN_BENCH_SIZE ?? '1GB');
const TABLES = ['t1', 't2', 't3', 't4'];
const u = new URL(SERVER);
const CLIENT = [`-h${u.hostname}`, `-P${u.port || 3306}`, `-u${decodeURIComponent(u.username)}`, ...(u.password ? [`-p${decodeURIComponent(u.password)}`] : [])];

const log = (...a) => console.error(...a);
const db = `srbench_${Date.now().toString(36)}`;
const made = new Set();

async function sql(text) {
  const c = await mysql.createConnection({ uri: SERVER, multipleStatements: true });
  try {
    return (await c.query(text))[0];
  } finally {
    await c.end();
  }
}

async function time(label, fn) {
  await settle();
  const t0 = performance.now();
  const out = await fn();
  const ms = performance.now() - t0;
  log(`  ${label}: ${fmtMs(ms)}`);
  return { ms, out };
}

async function build() {
  log(`building ${db}: ~${fmtBytes(SIZE)} of md5/random text in ${TABLES.length} tables`);
  await sql(`CREATE DATABASE ${db}`);
  made.add(db);
  // ~130 bytes on disk per row in InnoDB (96 characters of md5, a key, row and page overhead).
  const rows = Math.ceil(SIZE / 130 / TABLES.length);
  for (const t of TABLES) {
    await sql(`CREATE TABLE ${db}.${t} (id bigint PRIMARY KEY, a char(32), b varchar(64)) ENGINE=InnoDB`);
    for (let from = 1; from <= rows; from += 500_000) {
      const to = Math.min(rows, from + 499_999);
      await sql(`INSERT INTO ${db}.${t} SELECT seq, MD5(RAND()), CONCAT(MD5(RAND()), MD5(seq)) FROM ${db}.seq_${from}_to_${to}`);
    }
  }
  for (const t of TABLES) await sql(`ANALYZE TABLE ${db}.${t}`);
  const [{ s }] = await sql(`SELECT SUM(DATA_LENGTH + INDEX_LENGTH) AS s FROM information_schema.TABLES WHERE TABLE_SCHEMA = '${db}'`);
  log(`  ${fmtBytes(Number(s))} on disk`);
  return Number(s);
}

async function safeRun(dir, args) {
  return timed(process.execPath, [BIN, ...args], { cwd: dir, env: { ...process.env, NO_COLOR: '1' } });
}

async function main() {
  mkdirSync(WORK, { recursive: true });
  const size = await build();
  const results = {};

  log('baselines');
  const dumpFile = path.join(WORK, 'baseline.sql');
  results.dump = (await time('mariadb-dump --single-transaction', () => timed('bash', ['-o', 'pipefail', '-c', `mariadb-dump ${CLIENT.join(' ')} --single-transaction --hex-blob ${db} > ${dumpFile}`]))).ms;
  const dumpSize = statSync(dumpFile).size;
  await sql(`CREATE DATABASE ${db}_r`);
  made.add(`${db}_r`);
  results.load = (await time('mariadb < dump (one stream)', () => timed('bash', ['-c', `mariadb ${CLIENT.join(' ')} ${db}_r < ${dumpFile}`]))).ms;
  // The same data dumped per table and loaded two tables at a time (the machine has 2 cores).
  for (const t of TABLES) await timed('bash', ['-o', 'pipefail', '-c', `mariadb-dump ${CLIENT.join(' ')} --single-transaction --hex-blob ${db} ${t} > ${path.join(WORK, `${t}.sql`)}`]);
  await sql(`CREATE DATABASE ${db}_p`);
  made.add(`${db}_p`);
  results.parallel = (
    await time('mariadb < dump, per table, 2 streams', async () => {
      const queue = [...TABLES];
      const worker = async () => {
        for (let t = queue.shift(); t; t = queue.shift()) await timed('bash', ['-c', `mariadb ${CLIENT.join(' ')} ${db}_p < ${path.join(WORK, `${t}.sql`)}`]);
      };
      await Promise.all([worker(), worker()]);
    })
  ).ms;
  rmSync(dumpFile, { force: true });

  for (const strategy of ['dump', 'shadow']) {
    log(`${strategy} strategy (through the CLI)`);
    const dir = path.join(WORK, strategy);
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, 'safe-run.config.json'), JSON.stringify({ databases: [{ name: 'bench', url: `${SERVER}/${db}`, strategy }] }));
    const backup = await time('backup (verified)', () => safeRun(dir, ['backup', '--json']));
    results[`${strategy}Backup`] = backup.ms;
    const id = JSON.parse(backup.out.stdout)[0].id;
    let phases = '';
    const restore = await time('restore (staged, counted, one RENAME TABLE)', () =>
      timed(process.execPath, [BIN, 'restore', id, '--yes'], { cwd: dir, env: { ...process.env, NO_COLOR: '1' }, onLine: (l, at) => (phases += `${fmtMs(at)} ${l}\n`) }),
    );
    results[`${strategy}Restore`] = restore.ms;
    const swapped = /restored in ([\d.]+ m?s)/.exec(phases);
    results[`${strategy}Swap`] = swapped?.[1] ?? '?';
  }

  const r = (a, b) => `${(a / b).toFixed(2)}x`;
  console.log(
    [
      `MariaDB bench, ${fmtBytes(size)} database in ${TABLES.length} tables (mariadb-dump: ${fmtBytes(dumpSize)})`,
      `| step | time | vs mariadb-dump / vs loading with mariadb |`,
      `|---|---|---|`,
      `| mariadb-dump --single-transaction | ${fmtMs(results.dump)} | 1.00x |`,
      `| dump backup (verified) | ${fmtMs(results.dumpBackup)} | ${r(results.dumpBackup, results.dump)} |`,
      `| shadow backup (verified) | ${fmtMs(results.shadowBackup)} | ${r(results.shadowBackup, results.dump)} |`,
      `| mariadb < dump, one stream | ${fmtMs(results.load)} | 1.00x |`,
      `| mariadb < dump, per table, 2 streams | ${fmtMs(results.parallel)} | ${r(results.parallel, results.load)} |`,
      `| dump rollback (load, count, swap ${results.dumpSwap}) | ${fmtMs(results.dumpRestore)} | ${r(results.dumpRestore, results.load)} |`,
      `| shadow rollback (copy, count, swap ${results.shadowSwap}) | ${fmtMs(results.shadowRestore)} | ${r(results.shadowRestore, results.load)} |`,
    ].join('\n'),
  );
}

try {
  await main();
} finally {
  const ours = await sql(`SELECT SCHEMA_NAME AS n FROM information_schema.SCHEMATA WHERE SCHEMA_NAME LIKE 'safe\\_run\\_%' AND SCHEMA_COMMENT LIKE '%${db}%'`).catch(() => []);
  for (const name of [...made, ...ours.map((o) => o.n)]) await sql(`DROP DATABASE IF EXISTS \`${name}\``).catch(() => {});
  rmSync(WORK, { recursive: true, force: true });
}
