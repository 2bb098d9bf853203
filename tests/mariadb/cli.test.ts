// MariaDB through the real CLI: round trips for both strategies with views, triggers, routines and
// foreign keys, a rollback with an application connected, the lock that two projects (two stores, two
// logs) share on the server, the password kept out of every process list, and the errors a user meets.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BIN, runCli } from '../helpers/cli.js';
import { appConnection, dropDbs, randomDbName, SERVER, sql } from './my-test-db.js';

const dropped: string[] = [];
const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
  await dropDbs(...dropped);
});

const SCHEMA = `
  CREATE TABLE owners (id int AUTO_INCREMENT PRIMARY KEY, name varchar(40) NOT NULL) ENGINE=InnoDB;
  CREATE TABLE accounts (id int PRIMARY KEY, owner_id int NOT NULL, balance bigint NOT NULL, data blob,
    FOREIGN KEY (owner_id) REFERENCES owners (id)) ENGINE=InnoDB;
  CREATE TABLE audit (id int AUTO_INCREMENT PRIMARY KEY, account int, at datetime DEFAULT now()) ENGINE=InnoDB;
  INSERT INTO owners (name) SELECT CONCAT('owner ', seq) FROM seq_1_to_50;
  INSERT INTO accounts SELECT seq, 1 + seq % 50, 100, UNHEX(MD5(seq)) FROM seq_1_to_500;
  CREATE VIEW rich AS SELECT id, balance FROM accounts WHERE balance > 100;
  CREATE TRIGGER audit_update AFTER UPDATE ON accounts FOR EACH ROW INSERT INTO audit (account) VALUES (NEW.id);
  CREATE FUNCTION total() RETURNS bigint READS SQL DATA RETURN (SELECT SUM(balance) FROM accounts);
`;

async function project(strategy?: string) {
  const db = randomDbName('cli');
  dropped.push(db);
  await sql(null, `CREATE DATABASE ${db}`);
  await sql(db, SCHEMA);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'safe-run-my-cli-'));
  dirs.push(dir);
  writeFileSync(path.join(dir, 'safe-run.config.json'), JSON.stringify({ databases: [{ name: 'bank', url: `${SERVER}/${db}`, ...(strategy ? { strategy } : {}) }] }));
  /** Rows, schema and objects: everything a rollback must bring back. */
  const state = async () => ({
    accounts: await sql(db, 'SELECT id, owner_id, balance, HEX(data) AS d FROM accounts ORDER BY id'),
    owners: await sql(db, 'SELECT * FROM owners ORDER BY id'),
    audit: await sql(db, 'SELECT COUNT(*) AS n FROM audit'),
    objects: await sql(db, `SELECT 'view' AS k, TABLE_NAME AS n FROM information_schema.VIEWS WHERE TABLE_SCHEMA = DATABASE()
      UNION ALL SELECT 'trigger', TRIGGER_NAME FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = DATABASE()
      UNION ALL SELECT 'routine', ROUTINE_NAME FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = DATABASE()
      UNION ALL SELECT 'fk', CONSTRAINT_NAME FROM information_schema.REFERENTIAL_CONSTRAINTS WHERE CONSTRAINT_SCHEMA = DATABASE() ORDER BY 1, 2`),
  });
  const client = (statement: string) => ['mariadb', '-h127.0.0.1', '-uroot', db, '-e', statement];
  return { db, dir, state, client };
}

const RISKY = 'UPDATE accounts SET balance = 0 WHERE id <= 100; DELETE FROM accounts WHERE id > 450; DROP VIEW rich; DROP TRIGGER audit_update; DROP FUNCTION total; ALTER TABLE accounts DROP FOREIGN KEY accounts_ibfk_1; CREATE TABLE scratch (x int);';

describe('a guarded run against MariaDB', () => {
  for (const strategy of ['shadow', 'dump'] as const) {
    it(`rolls back rows, views, triggers, routines and foreign keys (${strategy})`, async () => {
      const p = await project(strategy);
      const before = await p.state();
      const run = await runCli(['--', ...p.client(RISKY)], { cwd: p.dir });
      expect(run.code, run.stderr).toBe(0);
      expect(run.stderr).toMatch(new RegExp(`verified in .*${strategy}`));
      const after = await p.state();
      expect(after).not.toEqual(before);
      const back = await runCli(['rollback', 'last', '--yes'], { cwd: p.dir });
      expect(back.code, back.stderr).toBe(0);
      expect(await p.state()).toEqual(before);
      // The replaced tables are the safety backup: undoing the rollback brings the run's result back.
      const undo = /undo this restore: safe-run -C \S+ rollback (\w+)/.exec(back.stdout + back.stderr)?.[1];
      expect(undo).toBeDefined();
      const redo = await runCli(['rollback', undo!, '--yes'], { cwd: p.dir });
      expect(redo.code, redo.stderr).toBe(0);
      expect(await p.state()).toEqual(after);
      expect((await runCli(['rollback', 'last', '--yes'], { cwd: p.dir })).code).toBe(0);
      expect(await p.state()).toEqual(before);
      // The trigger works again, and the table the run created is gone from the live schema.
      await sql(p.db, 'UPDATE accounts SET balance = balance + 1 WHERE id = 1');
      expect((await sql<{ n: string }>(p.db, 'SELECT COUNT(*) AS n FROM audit'))[0]!.n).toBe('1');
      expect(await sql(null, `SELECT 1 FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_NAME = 'scratch'`, [p.db])).toEqual([]);
      // The replaced tables are kept as a backup on the server, listed with it.
      const list = JSON.parse((await runCli(['list', '--json'], { cwd: p.dir })).stdout) as Array<{ serverCopy?: { name: string } }>;
      expect(list.some((b) => /^safe_run_old_/.test(b.serverCopy?.name ?? ''))).toBe(true);
    });
  }

  for (const strategy of ['shadow', 'dump'] as const) {
    it(`diffs rows by primary key byte for byte, not by collation (${strategy})`, async () => {
      const p = await project(strategy);
      await sql(p.db, "CREATE TABLE words (w varchar(20) COLLATE utf8mb4_general_ci PRIMARY KEY, n int); INSERT INTO words VALUES ('abc', 1), ('keep', 2), ('pad', 3)");
      const run = await runCli(['--', ...p.client("UPDATE words SET w = 'ABC' WHERE w = 'abc'; UPDATE words SET w = 'pad ' WHERE n = 3; DELETE FROM accounts WHERE id > 490; DROP VIEW rich")], { cwd: p.dir });
      expect(run.code, run.stderr).toBe(0);
      expect(run.stderr).toMatch(/changed\s+bank: accounts −10 \(of 500\)/);
      const diff = JSON.parse((await runCli(['diff', 'last', '--json'], { cwd: p.dir })).stdout) as { diffs: Array<{ schema: Array<{ name: string; change: string }>; tables: Array<{ name: string; inserted: number; deleted: number; updated: number }> }> };
      const d = diff.diffs[0]!;
      // 'abc' → 'ABC' is a new key byte for byte (one deleted, one inserted); 'pad' → 'pad ' likewise.
      expect(d.tables.find((t) => t.name === 'words')).toMatchObject({ inserted: 2, deleted: 2, updated: 0 });
      expect(d.tables.find((t) => t.name === 'accounts')).toMatchObject({ inserted: 0, deleted: 10, updated: 0 });
      expect(d.schema).toContainEqual(expect.objectContaining({ name: 'rich', change: 'dropped' }));
    });
  }

  it('refuses to roll back while an application is connected, naming its connection, until --force', async () => {
    const p = await project('shadow');
    const before = await p.state();
    const app = await appConnection(p.db);
    const [[{ id }]] = (await app.query('SELECT CONNECTION_ID() AS id')) as unknown as [[{ id: number }]];
    try {
      const run = await runCli(['--', ...p.client('UPDATE accounts SET balance = 0')], { cwd: p.dir });
      expect(run.code, run.stderr).toBe(0);
      const refused = await runCli(['rollback', 'last', '--yes'], { cwd: p.dir });
      expect(refused.code).toBe(4);
      expect(refused.stderr).toMatch(new RegExp(`connection ${id} `));
      expect(refused.stderr).toMatch(/--force/);
      expect(await p.state()).not.toEqual(before);
      const forced = await runCli(['rollback', 'last', '--yes', '--force'], { cwd: p.dir });
      expect(forced.code, forced.stderr).toBe(0);
      await expect(app.query('SELECT 1')).rejects.toThrow();
    } finally {
      app.destroy();
    }
    expect(await p.state()).toEqual(before);
  });

  it('holds a lock on the server: a second project with its own store and log cannot run at the same time', async () => {
    const a = await project();
    const bDir = mkdtempSync(path.join(os.tmpdir(), 'safe-run-my-cli-b-'));
    dirs.push(bDir);
    writeFileSync(path.join(bDir, 'safe-run.config.json'), JSON.stringify({ databases: [{ name: 'same', url: `${SERVER}/${a.db}` }], backupDir: 'elsewhere', logFile: 'other.json' }));
    const first = spawn(process.execPath, [BIN, '--', 'sleep', '6'], { cwd: a.dir, stdio: ['ignore', 'ignore', 'pipe'] });
    let firstErr = '';
    first.stderr.on('data', (d) => (firstErr += d));
    const done = new Promise((r) => first.on('close', r));
    try {
      for (let i = 0; i < 100 && !firstErr.includes('──'); i++) await new Promise((r) => setTimeout(r, 100));
      expect(firstErr).toMatch(/──/);
      const second = await runCli(['--no-wait', '--', 'touch', 'ran'], { cwd: bDir });
      expect(second.code).toBe(125);
      expect(second.stderr).toMatch(/locked by another safe-run: safe-run on connection \d+ \(root@/);
      // One that waits says who it waits for.
      const waiting = await runCli(['--wait', '1', '--', 'touch', 'ran'], { cwd: bDir });
      expect(waiting.code).toBe(125);
      expect(waiting.stderr).toMatch(/is locked by safe-run on connection \d+ \(root@[^)]*\), held for \d+ s; waiting up to/);
    } finally {
      await done;
    }
  });

  it('keeps the password out of every process list while mariadb-dump runs', async () => {
    const p = await project('dump');
    const user = randomDbName('u');
    const secret = `pw-${user}:"x\\y`;
    await sql(null, `CREATE USER '${user}'@'%' IDENTIFIED BY ?; GRANT ALL PRIVILEGES ON *.* TO '${user}'@'%'`, [secret]);
    try {
      await sql(p.db, 'CREATE TABLE filler (id int PRIMARY KEY, t varchar(64)) ENGINE=InnoDB; INSERT INTO filler SELECT seq, MD5(seq) FROM seq_1_to_300000');
      writeFileSync(path.join(p.dir, 'safe-run.config.json'), JSON.stringify({ databases: [{ name: 'bank', url: `${SERVER.replace('root@', `${user}:${encodeURIComponent(secret)}@`)}/${p.db}`, strategy: 'dump' }] }));
      const child = spawn(process.execPath, [BIN, 'backup'], { cwd: p.dir, stdio: ['ignore', 'pipe', 'pipe'] });
      let output = '';
      child.stdout.on('data', (d) => (output += d));
      child.stderr.on('data', (d) => (output += d));
      let closed = false;
      const done = new Promise((r) => child.on('close', (code) => ((closed = true), r(code))));
      let sawDump = false;
      const optionFiles = new Set<string>();
      while (!closed) {
        for (const pid of readdirSync('/proc').filter((x) => /^\d+$/.test(x))) {
          let text = '';
          try {
            text = readFileSync(`/proc/${pid}/cmdline`, 'latin1') + readFileSync(`/proc/${pid}/environ`, 'latin1');
          } catch {
            continue;
          }
          if (text.includes('mariadb-dump')) {
            sawDump = true;
            const first = readFileSync(`/proc/${pid}/cmdline`, 'latin1').split('\0')[1] ?? '';
            expect(first).toMatch(/^--defaults-extra-file=/);
            optionFiles.add(first.slice('--defaults-extra-file='.length));
          }
          expect(text.includes(secret), `process ${pid} shows the password`).toBe(false);
        }
        await new Promise((r) => setTimeout(r, 5));
      }
      expect(await done, output).toBe(0);
      expect(sawDump).toBe(true);
      expect(output).not.toContain(secret);
      // The 0600 option file that carried the password is gone with its directory.
      for (const f of optionFiles) expect(existsSync(path.dirname(f)), f).toBe(false);
    } finally {
      await sql(null, `DROP USER IF EXISTS '${user}'@'%'`);
    }
  });

  it('falls back to a dump when a table is not InnoDB, and says why', async () => {
    const p = await project();
    await sql(p.db, 'CREATE TABLE legacy (id int PRIMARY KEY, v int) ENGINE=MyISAM; INSERT INTO legacy VALUES (1, 1)');
    const run = await runCli(['--', ...p.client('UPDATE legacy SET v = 2; DELETE FROM accounts')], { cwd: p.dir });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toMatch(/verified in .*dump[\s\S]*shadow copy not possible: table legacy uses MyISAM/);
    const back = await runCli(['rollback', 'last', '--yes'], { cwd: p.dir });
    expect(back.code, back.stderr).toBe(0);
    expect(await sql(p.db, 'SELECT v FROM legacy')).toEqual([{ v: 1 }]);
    expect((await sql<{ n: string }>(p.db, 'SELECT COUNT(*) AS n FROM accounts'))[0]!.n).toBe('500');
  });

  it('drops the half-made shadow copy a killed backup left, and never a kept one', async () => {
    const p = await project('shadow');
    await sql(p.db, 'CREATE TABLE filler (id int PRIMARY KEY, t varchar(64)) ENGINE=InnoDB; INSERT INTO filler SELECT seq, MD5(seq) FROM seq_1_to_400000');
    const kept = await runCli(['backup', '--json'], { cwd: p.dir });
    expect(kept.code, kept.stderr).toBe(0);
    const partial = async () => (await sql<{ n: string; m: string }>(null, `SELECT SCHEMA_NAME AS n, SCHEMA_COMMENT AS m FROM information_schema.SCHEMATA WHERE SCHEMA_NAME LIKE 'safe\\_run\\_%' AND SCHEMA_COMMENT LIKE ?`, [`%${p.db}%`])).filter((s) => s.m.startsWith('safe-run: partial'));
    const child = spawn(process.execPath, [BIN, 'backup'], { cwd: p.dir, stdio: 'ignore' });
    for (let i = 0; i < 200 && (await partial()).length === 0; i++) await new Promise((r) => setTimeout(r, 25));
    const found = await partial();
    expect(found.length).toBe(1);
    const half = found[0];
    child.kill('SIGKILL');
    await new Promise((r) => child.on('close', r));
    // The server notices a dead client only when its statement ends: until then the killed backup's session
    // still holds its ownership lock, and the copy is rightly "in progress". Wait for that statement.
    const busy = async () => (await sql<{ n: number }>(null, `SELECT COUNT(*) AS n FROM information_schema.PROCESSLIST WHERE INFO LIKE ?`, [`%${half!.n}%`]))[0]!.n;
    for (let i = 0; i < 600 && (await busy()) > 0; i++) await new Promise((r) => setTimeout(r, 50));
    const again = await runCli(['--', 'true'], { cwd: p.dir });
    expect(again.code, again.stderr).toBe(0);
    expect(await partial()).toEqual([]);
    const list = JSON.parse((await runCli(['list', '--json'], { cwd: p.dir })).stdout) as Array<{ id: string; state: string }>;
    const first = JSON.parse(kept.stdout)[0] as { id: string };
    expect(list.find((b) => b.id === first.id)?.state).toBe('verified');
    const restored = await runCli(['restore', first.id, '--yes'], { cwd: p.dir });
    expect(restored.code, restored.stderr).toBe(0);
  }, 120_000); // the killed copy's statement runs on until it ends: up to half a minute here

  it('says in one line what is wrong with an unreachable server or a missing database, and runs nothing', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'safe-run-my-cli-bad-'));
    dirs.push(dir);
    for (const [url, why] of [
      ['mysql://root@127.0.0.1:1/nothing', /refused|reach/i],
      [`${SERVER}/no_such_database_here`, /does not exist/],
      [`${SERVER.replace('root@', 'root:wrong@')}/mysql`, /refused the login|password/],
    ] as const) {
      writeFileSync(path.join(dir, 'safe-run.config.json'), JSON.stringify({ databases: [{ name: 'x', url }] }));
      const r = await runCli(['--', 'touch', 'ran'], { cwd: dir });
      expect(r.code, r.stderr).toBe(125);
      expect(r.stderr.split('\n')[0]).toMatch(why);
      expect(r.stderr).toMatch(/try: /);
      expect(r.stderr).not.toMatch(/bug|wrong@/);
    }
    expect(readdirSync(dir)).not.toContain('ran');
  });
});
