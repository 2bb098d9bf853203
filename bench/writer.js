// The live writer: commits small transactions in a loop to the benchmark database until told to stop.
// Started with child_process.fork(bench/writer.js, [db, maxItemId]); talks over IPC:
//   → { type: 'ready' } once it has committed, then { type: 'stats', ... } in answer to 'stats'.
//   ← 'reset' (start a new window), 'stats' (report the window), 'stop' (exit).
// Each transaction moves money between two accounts (the sum of `accounts` never changes, so a backup
// that is not a consistent snapshot shows it) and rewrites one random 1 KB item somewhere in the file.
import Database from 'better-sqlite3';
import { performance } from 'node:perf_hooks';

const [file, maxItemIdText, accountsText] = process.argv.slice(2);
const maxItemId = Number(maxItemIdText);
const accounts = Number(accountsText);

const db = new Database(file, { fileMustExist: true, timeout: 30_000 });
db.pragma('journal_mode = WAL'); // synchronous stays at SQLite's default (FULL): every commit is durable
const debit = db.prepare('UPDATE accounts SET balance = balance - ? WHERE id = ?');
const credit = db.prepare('UPDATE accounts SET balance = balance + ? WHERE id = ?');
const touch = db.prepare('UPDATE items SET payload = randomblob(1000) WHERE id = ?');
const transfer = db.transaction((from, to, amount, item) => {
  debit.run(amount, from);
  credit.run(amount, to);
  touch.run(item);
});

const rnd = (n) => 1 + Math.floor(Math.random() * n);
let total = 0;
let window = { commits: 0, maxMs: 0, busy: 0, t0: performance.now() };
let stopping = false;

function burst() {
  if (stopping) return;
  const until = performance.now() + 10; // commit for 10 ms, then let IPC messages in
  while (performance.now() < until) {
    const t = performance.now();
    try {
      transfer(rnd(accounts), rnd(accounts), rnd(10), rnd(maxItemId));
    } catch (err) {
      if (err.code === 'SQLITE_BUSY') {
        window.busy++;
        continue;
      }
      throw err;
    }
    const ms = performance.now() - t;
    if (ms > window.maxMs) window.maxMs = ms;
    window.commits++;
    total++;
    if (total === 1) process.send({ type: 'ready' });
  }
  setImmediate(burst);
}

function stop() {
  if (stopping) return;
  stopping = true;
  try {
    db.close();
  } finally {
    process.exit(0);
  }
}

process.on('message', (msg) => {
  if (msg === 'reset') window = { commits: 0, maxMs: 0, busy: 0, t0: performance.now() };
  else if (msg === 'stats') process.send({ type: 'stats', ...window, ms: performance.now() - window.t0, total });
  else if (msg === 'stop') stop();
});
process.on('disconnect', stop); // the benchmark died: do not keep writing
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
burst();
