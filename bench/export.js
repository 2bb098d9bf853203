// npm run bench:export: time and peak RSS of `safe-run export` (CSV, then --zip) on a large database.
// Usage: node bench/export.js [--size 1G] [--fresh]. The database is bench/make-db.js's (1 KB random BLOB
// rows plus an indexed events table), reused between runs.
//
// Measured here (2 cores shared with other jobs, load ~13; Node 20; the 1 GB database, warm cache):
//   backup 11.8 s, peak RSS 161 MB; export 106 s, 177 MB, 1 GB of CSV; export --zip 153 s, 167 MB, 743 MB.
//   Peak RSS does not grow with the database: rows are streamed; times are pessimistic under that load.
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureDb } from './make-db.js';
import { fmtBytes, parseSize } from './lib.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const size = parseSize(args.includes('--size') ? args[args.indexOf('--size') + 1] : '1G');
const work = path.join(ROOT, 'bench', 'work', 'export'); // gitignored
mkdirSync(work, { recursive: true });
const db = path.join(work, 'app.db');
await ensureDb(db, size, { fresh: args.includes('--fresh'), log: (m) => console.log(m) });
writeFileSync(path.join(work, 'safe-run.config.json'), JSON.stringify({ databases: [{ name: 'app', url: 'app.db' }], backupDir: 'backups', logFile: 'log.json' }));

/** Run the CLI; its peak RSS is read from /proc (VmHWM only grows, so the last sample is the peak). */
function measured(cliArgs) {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, [path.join(ROOT, 'bin', 'safe-run.js'), ...cliArgs], { cwd: work, stdio: ['ignore', 'pipe', 'pipe'] });
    let peak = 0;
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    const sample = setInterval(() => {
      try {
        const kb = Number(/VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))?.[1] ?? 0);
        peak = Math.max(peak, kb * 1024);
      } catch {
        // the process has just exited
      }
    }, 50);
    child.on('close', (code) => {
      clearInterval(sample);
      if (code !== 0) reject(new Error(`safe-run ${cliArgs.join(' ')} exited ${code}:\n${err}`));
      else resolve({ ms: performance.now() - t0, peak, out });
    });
  });
}

rmSync(path.join(work, 'backups'), { recursive: true, force: true });
const backup = await measured(['backup', '--json']);
const id = JSON.parse(backup.out)[0].id;
console.log(`backup        ${(backup.ms / 1000).toFixed(1)} s  peak RSS ${fmtBytes(backup.peak)}`);
for (const [label, extra, out] of [['export (CSV)', [], 'out'], ['export --zip', ['--zip'], 'out.zip']]) {
  rmSync(path.join(work, out), { recursive: true, force: true });
  const r = await measured(['export', id, '--out', out, ...extra]);
  const bytes = extra.length ? statSync(path.join(work, out)).size : JSON.parse(readFileSync(path.join(work, out, 'manifest.json'), 'utf8')).tables.reduce((s, t) => s + t.size, 0);
  console.log(`${label.padEnd(13)} ${(r.ms / 1000).toFixed(1)} s  peak RSS ${fmtBytes(r.peak)}  wrote ${fmtBytes(bytes)} (database ${fmtBytes(statSync(db).size)})`);
  rmSync(path.join(work, out), { recursive: true, force: true });
}
rmSync(path.join(work, 'backups'), { recursive: true, force: true });
