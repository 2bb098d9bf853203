#!/usr/bin/env node
// The DuckDB engine's benchmark: a verified backup and a rollback through the real CLI, as ratios to a
// durable plain copy (cp + sync) of the same file measured in the same run.
//
//   npm run build && npm run bench:duckdb                 a ~500 MB file
//   npm run bench:duckdb -- --size 200MB
//
// Everything goes under bench/work/duckdb/ and is removed at the end.
import { DuckDBInstance } from '@duckdb/node-api';
import { mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { best, fmtBytes, fmtMs, parseSize, settle, timed } from './lib.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const WORK = path.join(HERE, 'work', 'duckdb');
const BIN = path.join(HERE, '..', 'bin', 'safe-run.js');
const { values } = parseArgs({ options: { size: { type: 'string' } } });
const SIZE = parseSize(values.size ?? '500MB');
const log = (...a) => console.error(...a);

async function build(file) {
  const instance = await DuckDBInstance.create(file);
  const c = await instance.connect();
  // md5 text and random numbers: poorly compressible, so the file is about the size asked for.
  const rows = Math.round(SIZE / 90);
  await c.run(`CREATE TABLE accounts AS SELECT i AS id, md5(i::VARCHAR) || md5((i * 7)::VARCHAR) AS note, random() AS balance FROM range(${rows}) t(i)`);
  await c.run('CHECKPOINT');
  c.closeSync();
  instance.closeSync();
}

async function main() {
  rmSync(WORK, { recursive: true, force: true });
  mkdirSync(WORK, { recursive: true });
  const file = path.join(WORK, 'bench.duckdb');
  log(`building ${fmtBytes(SIZE)} DuckDB file …`);
  await build(file);
  const size = statSync(file).size;
  writeFileSync(path.join(WORK, 'safe-run.config.json'), JSON.stringify({ databases: [{ name: 'bench', url: 'bench.duckdb' }] }));
  const cp = [];
  const backup = [];
  const rollback = [];
  for (let i = 0; i < 3; i++) {
    await settle();
    cp.push((await timed('sh', ['-c', `cp "$0" "$0.copy" && sync "$0.copy"; rm -f "$0.copy"`, file])).ms);
    await settle();
    backup.push((await timed(process.execPath, [BIN, '--', 'true'], { cwd: WORK })).ms);
    await settle();
    rollback.push((await timed(process.execPath, [BIN, 'rollback', 'last', '--yes'], { cwd: WORK })).ms);
  }
  const base = best(cp);
  const out = [
    `DuckDB, ${fmtBytes(size)} file, best of 3, same run:`,
    `  durable plain copy (cp + sync)     ${fmtMs(base).padStart(9)}  1.00x`,
    `  safe-run -- true (verified backup) ${fmtMs(best(backup)).padStart(9)}  ${(best(backup) / base).toFixed(2)}x`,
    `  safe-run rollback last --yes       ${fmtMs(best(rollback)).padStart(9)}  ${(best(rollback) / base).toFixed(2)}x`,
  ];
  process.stdout.write(out.join('\n') + '\n');
  rmSync(WORK, { recursive: true, force: true });
}

main().catch((err) => {
  log(err instanceof Error ? err.message : String(err));
  process.exit(1);
});
