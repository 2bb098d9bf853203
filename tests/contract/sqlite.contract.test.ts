// The engine contract for SQLite: real files in a temp project, the transfer writer as the busy client.
import Database from 'better-sqlite3';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { FIXTURES } from '../helpers/cli.js';
import { engineContract, flipByte, startLineWriter } from './engine-contract.js';

const WRITER = path.join(FIXTURES, 'writer-transfers.mjs');
const ACCOUNTS = 500;

function read<T>(file: string, fn: (db: Database.Database) => T): T {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    return fn(db);
  } finally {
    db.close();
  }
}

/** sha256 of rows, with blobs by their bytes and every value by its type. */
function digestRows(rows: unknown[][]): string {
  const h = createHash('sha256');
  for (const row of rows) for (const v of row) h.update(Buffer.isBuffer(v) ? Buffer.concat([Buffer.from('b:'), v]) : `${typeof v}:${String(v)}\u0000`);
  return `${rows.length} rows ${h.digest('hex')}`;
}

engineContract({
  engine: 'sqlite',
  expectedTotal: ACCOUNTS * 100,
  damageBackup: flipByte,
  async create() {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'safe-run-contract-sqlite-'));
    const file = path.join(dir, 'data', 'bank.db');
    mkdirSync(path.dirname(file));
    const init = spawnSync(process.execPath, [WRITER, 'init', file, String(ACCOUNTS), '8'], { encoding: 'utf8' });
    if (init.status !== 0) throw new Error(init.stderr);
    writeFileSync(path.join(dir, 'safe-run.config.json'), JSON.stringify({ databases: [{ name: 'bank', url: 'data/bank.db' }] }));
    return {
      dir,
      contents: async () =>
        read(file, (db) => {
          const schema = db.prepare("SELECT type, name, sql FROM sqlite_schema WHERE name NOT LIKE 'sqlite_%' ORDER BY name").all() as Array<{ type: string; name: string }>;
          // A digest per table: deep-comparing megabytes of blobs row by row is what would take the time.
          const tables = schema.filter((s) => s.type === 'table').map((s) => [s.name, digestRows(db.prepare(`SELECT * FROM "${s.name}" ORDER BY rowid`).raw().all())]);
          return { schema, tables: Object.fromEntries(tables) };
        }),
      total: async () => read(file, (db) => db.prepare('SELECT sum(balance) FROM accounts').pluck().get() as number),
      changeCommand: () => [
        'sqlite3',
        file,
        'UPDATE accounts SET balance = balance * 2 WHERE id % 3 = 0; DELETE FROM accounts WHERE id % 7 = 0; DROP TABLE ticks; ALTER TABLE accounts ADD COLUMN note TEXT;',
      ],
      startWriter: () => startLineWriter(WRITER, ['run', file]),
      async assertIntact() {
        const result = read(file, (db) => db.pragma('integrity_check', { simple: true }));
        if (result !== 'ok') throw new Error(`integrity_check: ${String(result)}`);
      },
      cleanup: async () => rmSync(dir, { recursive: true, force: true }),
    };
  },
});
