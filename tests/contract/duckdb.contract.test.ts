// The engine contract for DuckDB: real files in a temp project, other processes through the fixture script.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { bank, BANK, contentsOf, holdOpen, query } from '../duckdb/duckdb-test-db.js';
import { engineContract, flipByte } from './engine-contract.js';

const ACCOUNTS = 500;

engineContract({
  engine: 'duckdb',
  expectedTotal: ACCOUNTS * 100,
  damageBackup: flipByte,
  noConcurrentWriter:
    'DuckDB lets one process write a file, or many read it, never both: no backup can run beside another process writing, so a held file is waited for and then refused instead',
  async create() {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'safe-run-contract-duckdb-'));
    const file = path.join(dir, 'data', 'bank.duckdb');
    mkdirSync(path.dirname(file));
    bank('init', file, String(ACCOUNTS));
    writeFileSync(path.join(dir, 'safe-run.config.json'), JSON.stringify({ databases: [{ name: 'bank', url: 'data/bank.duckdb' }] }));
    return {
      dir,
      contents: () => contentsOf(file),
      total: async () => Number((await query<[bigint]>(file, 'SELECT sum(balance) FROM accounts'))[0]![0]),
      changeCommand: () => [
        process.execPath,
        BANK,
        'sql',
        file,
        'UPDATE accounts SET balance = balance * 2 WHERE id % 3 = 0; DELETE FROM accounts WHERE id % 7 = 0; DROP TABLE ticks; ALTER TABLE accounts ADD COLUMN note TEXT;',
      ],
      holdOpen: () => holdOpen(file),
      async assertIntact() {
        // Every row of every table read (every block's checksum checked by DuckDB).
        const tables = await query<[string, string]>(file, 'SELECT schema_name, table_name FROM duckdb_tables() WHERE NOT internal');
        for (const [s, t] of tables) await query(file, `SELECT count(*), bit_xor(hash(x)) FROM "${s}"."${t}" AS x`);
      },
      cleanup: async () => rmSync(dir, { recursive: true, force: true }),
    };
  },
});
