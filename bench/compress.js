// Measure compressors on a realistic SQLite file (text + integers + indexes): what `compress` should use.
// Usage: node bench/compress.js [MB=150]. Prints size, ratio and wall time of each.
import Database from 'better-sqlite3';
import { execFileSync } from 'node:child_process';
import { createReadStream, createWriteStream, mkdtempSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import zlib from 'node:zlib';

const targetMb = Number(process.argv[2] ?? 150);
const dir = mkdtempSync(path.join(os.tmpdir(), 'safe-run-compress-'));
const file = path.join(dir, 'app.db');

// Words drawn with a skew, like names, notes and statuses in an application table.
const WORDS = Array.from({ length: 5000 }, (_, i) => (i * 2654435761 % 2 ** 32).toString(36) + ['er', 'ing', 'ed', 'ly', 's'][i % 5]);
let seed = 42;
const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
const word = () => WORDS[Math.floor(WORDS.length * rand() ** 2)];
const sentence = (n) => Array.from({ length: n }, word).join(' ');

const db = new Database(file);
db.exec(`CREATE TABLE customers (id INTEGER PRIMARY KEY, email TEXT, name TEXT, city TEXT, created INTEGER, balance INTEGER);
  CREATE TABLE orders (id INTEGER PRIMARY KEY, customer_id INTEGER, status TEXT, total INTEGER, note TEXT, at INTEGER);
  CREATE INDEX orders_customer ON orders(customer_id); CREATE INDEX customers_email ON customers(email);`);
const addC = db.prepare('INSERT INTO customers VALUES (?, ?, ?, ?, ?, ?)');
const addO = db.prepare('INSERT INTO orders VALUES (?, ?, ?, ?, ?, ?)');
let id = 0;
while (statSync(file).size < targetMb * 1024 * 1024) {
  db.transaction(() => {
    for (let i = 0; i < 20000; i++, id++) {
      addC.run(id, `${word()}.${id}@example.com`, sentence(2), word(), 1.6e9 + Math.floor(rand() * 1e8), Math.floor(rand() * 1e6));
      addO.run(id, Math.floor(rand() * id), ['new', 'paid', 'shipped', 'refunded'][id % 4], Math.floor(rand() * 1e5), sentence(8 + Math.floor(rand() * 20)), 1.6e9 + id);
    }
  })();
}
db.close();
const size = statSync(file).size;
console.log(`database: ${(size / 1e6).toFixed(0)} MB, ${id} customers + ${id} orders`);

function report(name, ms, out) {
  const bytes = statSync(out).size;
  console.log(`${name.padEnd(14)} ${(ms / 1000).toFixed(2).padStart(6)} s  ${(bytes / 1e6).toFixed(1).padStart(7)} MB  ratio ${(size / bytes).toFixed(2)}  ${(size / 1e6 / (ms / 1000)).toFixed(0)} MB/s`);
  rmSync(out);
}

execFileSync('cat', [file], { stdio: ['ignore', 'ignore', 'inherit'] }); // warm the page cache
for (const level of [1, 3]) {
  const out = `${file}.zst`;
  const t0 = performance.now();
  execFileSync('zstd', ['-q', `-${level}`, '-T2', '-f', file, '-o', out]);
  report(`zstd -${level} -T2`, performance.now() - t0, out);
}
for (const level of [1, 6]) {
  const out = `${file}.gz`;
  const t0 = performance.now();
  await pipeline(createReadStream(file), zlib.createGzip({ level }), createWriteStream(out));
  report(`gzip -${level} (zlib)`, performance.now() - t0, out);
}
for (const q of [1, 2, 3, 4]) {
  const out = `${file}.br`;
  const t0 = performance.now();
  await pipeline(createReadStream(file), zlib.createBrotliCompress({ params: { [zlib.constants.BROTLI_PARAM_QUALITY]: q, [zlib.constants.BROTLI_PARAM_SIZE_HINT]: size } }), createWriteStream(out));
  report(`brotli q${q}`, performance.now() - t0, out);
}
// Decompression, the cost a restore pays.
execFileSync('zstd', ['-q', '-3', '-T2', '-f', file, '-o', `${file}.zst`]);
let t0 = performance.now();
execFileSync('zstd', ['-q', '-d', '-f', `${file}.zst`, '-o', `${file}.out`]);
console.log(`zstd -d        ${((performance.now() - t0) / 1000).toFixed(2).padStart(6)} s`);
await pipeline(createReadStream(file), zlib.createGzip({ level: 6 }), createWriteStream(`${file}.gz`));
t0 = performance.now();
await pipeline(createReadStream(`${file}.gz`), zlib.createGunzip(), createWriteStream(`${file}.out`));
console.log(`gunzip (zlib)  ${((performance.now() - t0) / 1000).toFixed(2).padStart(6)} s`);
rmSync(dir, { recursive: true, force: true });
