// The engine contract for MariaDB, once per strategy, against the real server (each database is made
// and dropped by the test). `auto` makes a shadow copy of an idle database and dumps one a writer is
// connected to; `shadow` copies under the writer too. The dump fixture connects as a user with a
// password, made for it.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { FIXTURES } from '../helpers/cli.js';
import { dropDbs, randomDbName, SERVER, sql } from '../mariadb/my-test-db.js';
import { engineContract } from './engine-contract.js';

const WRITER = path.join(FIXTURES, 'my-writer-transfers.mjs');
const ACCOUNTS = 300;
const SECRET = 'Sw0rdf1sh-not-for-logs';
const USER = `sr_${randomDbName('u').slice(2)}`;

beforeAll(async () => {
  await sql(null, `CREATE USER '${USER}'@'%' IDENTIFIED BY '${SECRET}'; GRANT ALL PRIVILEGES ON *.* TO '${USER}'@'%'`);
});
afterAll(async () => {
  await sql(null, `DROP USER IF EXISTS '${USER}'@'%'`);
});

/**
 * Wait until no other connection runs a statement on `db`: a client killed mid-swap leaves its last
 * statement (one RENAME TABLE) running on the server, and information_schema lists a schema's tables
 * while a rename is under way without waiting for it.
 */
async function settled(db: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const busy = await sql(null, `SELECT ID FROM information_schema.PROCESSLIST WHERE ID <> CONNECTION_ID() AND COMMAND = 'Query' AND (DB = ? OR INFO LIKE ?)`, [db, `%${db}%`]);
    if (busy.length === 0) return;
    await new Promise((r) => setTimeout(r, 25));
  }
}

async function contentsOf(db: string): Promise<unknown> {
  await settled(db);
  const columns = await sql<{ t: string; c: string }>(db, `SELECT TABLE_NAME AS t, GROUP_CONCAT(CONCAT(COLUMN_NAME, ' ', COLUMN_TYPE) ORDER BY ORDINAL_POSITION SEPARATOR ', ') AS c FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? GROUP BY TABLE_NAME ORDER BY 1`, [db]);
  const tables: Record<string, string> = {};
  for (const { t } of columns) {
    const rows = await sql<Record<string, unknown>>(db, `SELECT * FROM \`${t}\` ORDER BY 1`);
    tables[t] = `${rows.length} rows ${createHash('sha256').update(rows.map((r) => JSON.stringify(r)).join('\n')).digest('hex')}`;
  }
  return { columns, tables };
}

/** Cut a dump short (its completion line goes), or change a shadow copy's rows behind safe-run's back. */
async function damage(backupPath: string): Promise<void> {
  if (backupPath.endsWith('dump.sql')) {
    truncateSync(backupPath, Math.floor(statSync(backupPath).size / 2));
    return;
  }
  const facts = JSON.parse(readFileSync(backupPath, 'utf8')) as { schema: string };
  await sql(null, `UPDATE \`${facts.schema}\`.accounts SET balance = balance + 1 WHERE id = 1`);
}

function fixture(strategy: 'auto' | 'shadow' | 'dump', withPassword: boolean) {
  return {
    engine: `mariadb (${strategy}${withPassword ? ', password in the URL' : ''})`,
    expectedTotal: ACCOUNTS * 100,
    damageBackup: damage,
    ...(withPassword ? { secret: SECRET } : {}),
    async create() {
      const db = randomDbName('src');
      await sql(null, `CREATE DATABASE ${db}`);
      await sql(
        db,
        `CREATE TABLE accounts (id int PRIMARY KEY, balance bigint NOT NULL) ENGINE=InnoDB;
         CREATE TABLE ticks (id int AUTO_INCREMENT PRIMARY KEY, src int, dst int, amount int) ENGINE=InnoDB;
         INSERT INTO accounts SELECT seq, 100 FROM seq_1_to_${ACCOUNTS};`,
      );
      const dir = mkdtempSync(path.join(os.tmpdir(), 'safe-run-contract-my-'));
      const url = withPassword ? `${SERVER.replace('root@', `${USER}:${SECRET}@`)}/${db}` : `${SERVER}/${db}`;
      writeFileSync(path.join(dir, 'safe-run.config.json'), JSON.stringify({ databases: [{ name: 'bank', url, strategy }] }));
      return {
        dir,
        contents: () => contentsOf(db),
        total: async () => Number((await sql<{ s: string }>(db, 'SELECT SUM(balance) AS s FROM accounts'))[0]!.s),
        changeCommand: () => ['mariadb', '-h127.0.0.1', '-uroot', db, '-e', 'UPDATE accounts SET balance = balance * 2 WHERE id % 3 = 0; DELETE FROM accounts WHERE id % 7 = 0; DROP TABLE ticks; ALTER TABLE accounts ADD COLUMN note text;'],
        async startWriter() {
          const child = spawn(process.execPath, [WRITER, `${SERVER}/${db}`], { stdio: ['pipe', 'pipe', 'inherit'] });
          await new Promise<void>((resolve, reject) => {
            child.stdout!.on('data', (d: Buffer) => d.toString().includes('ready') && resolve());
            child.on('exit', (code) => reject(new Error(`writer exited ${code}`)));
          });
          return { stop: () => new Promise<void>((resolve) => (child.on('exit', () => resolve()), child.stdin!.end('stop\n'))) };
        },
        async assertIntact() {
          const tables = await sql<{ t: string }>(null, `SELECT TABLE_NAME AS t FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_TYPE = 'BASE TABLE'`, [db]);
          for (const { t } of tables) {
            const [r] = await sql<{ Msg_text: string }>(db, `CHECK TABLE \`${t}\``);
            if (r!.Msg_text !== 'OK') throw new Error(`CHECK TABLE ${t}: ${r!.Msg_text}`);
          }
        },
        async cleanup() {
          rmSync(dir, { recursive: true, force: true });
          await dropDbs(db);
        },
      };
    },
  };
}

engineContract(fixture('auto', false));
engineContract(fixture('shadow', false));
engineContract(fixture('dump', true));
