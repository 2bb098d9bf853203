// Build (or reuse) the benchmark's SQLite databases: ~1 KB random rows plus an indexed table, WAL mode.
import Database from 'better-sqlite3';
import { existsSync, promises as fs, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { fmtBytes } from './lib.js';

/** Rows of `accounts`, each starting with this balance: the live writer moves money, the sum never changes. */
export const ACCOUNTS = 1000;
export const START_BALANCE = 100;
export const LAYOUT_VERSION = 1;

const SCHEMA = `
  CREATE TABLE items (id INTEGER PRIMARY KEY, uuid TEXT NOT NULL, created INTEGER NOT NULL, payload BLOB NOT NULL);
  CREATE TABLE events (id INTEGER PRIMARY KEY, item_id INTEGER NOT NULL, kind INTEGER NOT NULL, at INTEGER NOT NULL, note TEXT);
  CREATE INDEX events_item ON events(item_id);
  CREATE INDEX events_at ON events(at, kind);
  CREATE TABLE accounts (id INTEGER PRIMARY KEY, balance INTEGER NOT NULL);
`;

function metaPath(file) {
  return `${file}.meta.json`;
}

/** The meta of a complete database built by this script, or undefined (missing, partial, other layout). */
function readMeta(file) {
  try {
    const meta = JSON.parse(readFileSync(metaPath(file), 'utf8'));
    if (meta.layout !== LAYOUT_VERSION || !meta.complete || !existsSync(file)) return undefined;
    return meta;
  } catch {
    return undefined;
  }
}

export function removeDb(file) {
  for (const suffix of ['', '-wal', '-shm', '-journal', '.meta.json', '.safe-run-lock']) rmSync(`${file}${suffix}`, { force: true });
}

/** Bytes the existing database at `file` occupies (0 when there is none). */
export function existingSize(file) {
  let n = 0;
  for (const suffix of ['', '-wal']) {
    try {
      n += statSync(`${file}${suffix}`).size;
    } catch {
      /* none */
    }
  }
  return n;
}

/**
 * Make sure `file` is a complete benchmark database of about `target` bytes in WAL mode with an empty WAL.
 * Returns { built: boolean, ms, size, items, maxItemId }.
 */
export async function ensureDb(file, target, { fresh = false, log = () => undefined } = {}) {
  const meta = fresh ? undefined : readMeta(file);
  if (meta && meta.target === target) {
    // Fold in whatever a previous run's writer left in the WAL and make sure it is still WAL mode.
    const db = new Database(file, { fileMustExist: true, timeout: 10_000 });
    try {
      db.pragma('journal_mode = WAL');
      db.pragma('wal_checkpoint(TRUNCATE)');
      const sum = db.prepare('SELECT sum(balance) FROM accounts').pluck().get();
      if (sum !== ACCOUNTS * START_BALANCE) throw new Error(`accounts sum is ${sum}, expected ${ACCOUNTS * START_BALANCE}`);
    } finally {
      db.close();
    }
    log(`reusing ${file} (${fmtBytes(statSync(file).size)}); --fresh to rebuild`);
    return { built: false, ms: 0, size: statSync(file).size, items: meta.items, maxItemId: meta.maxItemId };
  }
  removeDb(file);
  const t0 = performance.now();
  const db = new Database(file);
  let items = 0;
  try {
    // Build without a journal (nothing to protect yet) in big transactions; switch to WAL at the end.
    db.pragma('journal_mode = OFF');
    db.pragma('synchronous = OFF');
    db.pragma('cache_size = -262144'); // 256 MB
    db.exec(SCHEMA);
    const pageSize = db.pragma('page_size', { simple: true });
    const batch = 50_000; // ~50 MB of items per transaction
    // One event row (and two index entries) per item: about a tenth of the file.
    const addItems = db.prepare(`
      WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < ?)
      INSERT INTO items (uuid, created, payload)
      SELECT lower(hex(randomblob(16))), 1700000000 + abs(random() % 100000000), randomblob(1000) FROM n`);
    const addEvents = db.prepare(`
      INSERT INTO events (item_id, kind, at, note)
      SELECT id, abs(random() % 16), created + abs(random() % 86400), 'e' || hex(randomblob(6)) FROM items WHERE id > ?`);
    const step = db.transaction((n) => {
      const before = db.prepare('SELECT coalesce(max(id), 0) FROM items').pluck().get();
      addItems.run(n);
      addEvents.run(before);
    });
    let lastLog = 0;
    for (;;) {
      const bytes = db.pragma('page_count', { simple: true }) * pageSize;
      if (bytes >= target) break;
      // Smaller last batches so the file ends close to the target.
      const perItem = items > 0 ? bytes / items : 1450; // a 1 KB row takes ~1.4 KB with its page and index share
      const n = Math.max(200, Math.min(batch, Math.ceil((target - bytes) / perItem)));
      step(n);
      items += n;
      if (performance.now() - lastLog > 2000) {
        lastLog = performance.now();
        log(`building ${file}: ${fmtBytes(bytes)} of ${fmtBytes(target)}`);
      }
    }
    const insertAccount = db.prepare('INSERT INTO accounts (id, balance) VALUES (?, ?)');
    db.transaction(() => {
      for (let i = 1; i <= ACCOUNTS; i++) insertAccount.run(i, START_BALANCE);
    })();
    db.pragma('synchronous = FULL');
    db.pragma('journal_mode = WAL');
    db.pragma('wal_checkpoint(TRUNCATE)');
  } finally {
    db.close();
  }
  const fh = await fs.open(file, 'r');
  await fh.sync();
  await fh.close();
  const maxItemId = items;
  const size = statSync(file).size;
  const ms = performance.now() - t0;
  writeFileSync(metaPath(file), JSON.stringify({ layout: LAYOUT_VERSION, complete: true, target, size, items, maxItemId, builtAt: new Date().toISOString(), buildMs: Math.round(ms) }, null, 2) + '\n');
  log(`built ${file}: ${fmtBytes(size)}, ${items} items, in ${(ms / 1000).toFixed(1)} s`);
  return { built: true, ms, size, items, maxItemId };
}
