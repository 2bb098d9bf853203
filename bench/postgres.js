#!/usr/bin/env node
// The PostgreSQL engine's benchmark: backup and restore by each strategy, as ratios to `pg_dump -Fc` and
// `pg_restore` measured in the same run on the same database of poorly compressible text (md5/random:
// pgbench's data compresses 50x and makes dump timings meaningless).
//
//   npm run build && npm run bench:pg                   1 GB database
//   npm run bench:pg -- --size 300MB                    or SAFE_RUN_BENCH_SIZE=300MB
//   SAFE_RUN_BENCH_PG=postgres://user@host:5432          the server (default postgres@127.0.0.1:5432)
//
// Every database it makes is named srbench_… and dropped at the end; dumps go to bench/work/pg/.
import { mkdirSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { fmtBytes, fmtMs, parseSize, settle, timed } from './lib.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const WORK = path.join(HERE, 'work', 'pg');
const SERVER = process.env.SAFE_RUN_BENCH_PG ?? 'postgres://postgres@127.0.0.1:5432';
const { values } = parseArgs({ options: { size: { type: 'string' } } });
const SIZE = parseSize(values.size ?? process.env.SAFE_RUN_BENCH_SIZE ?? '1GB');

const engine = await import(path.join(HERE, '..', 'dist', 'engines', 'postgres', 'index.js')).catch(() => {
  console.error('build first: npm run build (the bench uses dist/engines/postgres)');
  process.exit(2);
});

const log = (...a) => console.error(...a);
const made = new Set();
const db = `srbench_${Date.now().toString(36)}`;
const url = (name) => `${SERVER}/${name}`;
const target = (name) => engine.parsePostgresUrl(url(name)).target;

async function sql(database, text) {
  const c = new pg.Client({ connectionString: url(database) });
  await c.connect();
  try {
    return (await c.query(text)).rows;
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
  log(`building ${db}: ~${fmtBytes(SIZE)} of md5/random text`);
  await sql('postgres', `CREATE DATABASE ${db}`);
  made.add(db);
  await sql(db, 'CREATE TABLE payload (id bigint PRIMARY KEY, a text, b text)');
  // ~165 bytes on disk per row (two 32-char md5 strings, a key, tuple and index overhead).
  const rows = Math.ceil(SIZE / 165);
  for (let from = 1; from <= rows; from += 1_000_000) {
    const to = Math.min(rows, from + 999_999);
    await sql(db, `INSERT INTO payload SELECT g, md5(random()::text), md5(random()::text) || md5(g::text) FROM generate_series(${from}, ${to}) g`);
  }
  await sql(db, 'VACUUM ANALYZE payload');
  await sql(db, 'CHECKPOINT');
  const [{ size }] = await sql(db, `SELECT pg_database_size('${db}')::bigint AS size`);
  log(`  ${fmtBytes(Number(size))} on disk`);
  return Number(size);
}

async function main() {
  mkdirSync(WORK, { recursive: true });
  const size = await build();
  const env = { ...process.env, PGHOST: '127.0.0.1', PGUSER: target(db).user, PGPORT: String(target(db).port) };
  const results = {};

  log('baselines');
  const fcFile = path.join(WORK, 'baseline.dump');
  results.pgDumpFc = (await time('pg_dump -Fc', () => timed('pg_dump', ['-Fc', '-f', fcFile, db], { env }))).ms;
  const fcSize = statSync(fcFile).size;
  const restored = `${db}_r`;
  await sql('postgres', `CREATE DATABASE ${restored}`);
  made.add(restored);
  results.pgRestore = (await time('pg_restore into an empty database', () => timed('pg_restore', ['-d', restored, fcFile], { env }))).ms;
  rmSync(fcFile, { force: true });
  // The compression choices of the dump strategy, each piped to wc -c for its size.
  const ways = {
    'pg_dump -Fc -Z1': `pg_dump -Fc -Z1 ${db}`,
    'pg_dump -Fc -Z0': `pg_dump -Fc -Z0 ${db}`,
    'pg_dump -Fc -Z0 | zstd -1 -T2': `pg_dump -Fc -Z0 ${db} | zstd -1 -T2 -q -c`,
    'pg_dump -Fc -Z0 | zstd -3 -T2': `pg_dump -Fc -Z0 ${db} | zstd -3 -T2 -q -c`,
  };
  results.compression = [];
  for (const [label, cmd] of Object.entries(ways)) {
    const { ms, out } = await time(label, () => timed('bash', ['-o', 'pipefail', '-c', `${cmd} | wc -c`], { env }));
    results.compression.push({ label, ms, bytes: Number(out.stdout.trim()) });
  }

  log('dump strategy');
  const dumpFile = path.join(WORK, 'safe-run.dump');
  rmSync(dumpFile, { force: true });
  const dump = await time('backup (pg_dump -Z0 | zstd -1, sha256, counts)', () => engine.dumpDatabase(target(db), dumpFile));
  results.dumpBackup = dump.ms;
  results.dumpSize = dump.out.size;
  results.dumpVerifyQuick = (await time('verify quick (sha256, zstd -t, read every block)', () => engine.verifyDump(target(db), dump.out, 'quick'))).ms;
  const dumpRestore = await time('restore (staged, counted, swapped)', () => engine.restoreDump(target(db), dump.out));
  results.dumpRestore = dumpRestore.ms;
  made.add(dumpRestore.out.keptAs);

  log('clone strategy');
  await sql('postgres', 'CHECKPOINT');
  const clone = await time('backup (CREATE DATABASE … STRATEGY FILE_COPY, counts)', () => engine.cloneDatabase(target(db), `bench${Date.now().toString(36)}`));
  results.cloneBackup = clone.ms;
  made.add(clone.out.database);
  const cloneRestore = await time('restore (renames)', () => engine.restoreClone(target(db), clone.out.database));
  results.cloneRestore = cloneRestore.ms;
  made.add(cloneRestore.out.keptAs);

  const r = (a, b) => `${(a / b).toFixed(2)}x`;
  const lines = [
    `PostgreSQL bench, ${fmtBytes(size)} database (pg_dump -Fc: ${fmtBytes(fcSize)}; safe-run dump: ${fmtBytes(results.dumpSize)})`,
    `| step | time | vs pg_dump -Fc / pg_restore |`,
    `|---|---|---|`,
    `| pg_dump -Fc | ${fmtMs(results.pgDumpFc)} | 1.00x |`,
    ...results.compression.map((c) => `| ${c.label.replace(/\|/g, '\\|')} (${fmtBytes(c.bytes)}) | ${fmtMs(c.ms)} | ${r(c.ms, results.pgDumpFc)} |`),
    `| dump backup | ${fmtMs(results.dumpBackup)} | ${r(results.dumpBackup, results.pgDumpFc)} |`,
    `| dump verify (quick) | ${fmtMs(results.dumpVerifyQuick)} | ${r(results.dumpVerifyQuick, results.pgDumpFc)} |`,
    `| clone backup | ${fmtMs(results.cloneBackup)} | ${r(results.cloneBackup, results.pgDumpFc)} |`,
    `| pg_restore | ${fmtMs(results.pgRestore)} | 1.00x |`,
    `| dump restore | ${fmtMs(results.dumpRestore)} | ${r(results.dumpRestore, results.pgRestore)} |`,
    `| clone restore | ${fmtMs(results.cloneRestore)} | ${r(results.cloneRestore, results.pgRestore)} |`,
  ];
  console.log(lines.join('\n'));
}

try {
  await main();
} finally {
  for (const name of made) if (name) await sql('postgres', `DROP DATABASE IF EXISTS ${pg.escapeIdentifier(name)} WITH (FORCE)`).catch(() => {});
  rmSync(WORK, { recursive: true, force: true });
}
