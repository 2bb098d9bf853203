// The contract every engine must keep, run once per engine (as restic runs one backend suite against
// every backend). It talks to the real CLI only: what it proves is what a user gets, whatever the engine.
import { spawn } from 'node:child_process';
import { existsSync, promises as fs, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BIN, runCli, type CliResult } from '../helpers/cli.js';

/** One database of an engine, in its own project directory, with a table of accounts. */
export interface ContractDatabase {
  /** The project directory: its safe-run.config.json names the database `bank`. */
  dir: string;
  /** Canonical, comparable content of every user table (schema included), e.g. rows ordered by key. */
  contents(): Promise<unknown>;
  /** Sum of all balances; the writer only moves money, so every consistent state has the same total. */
  total(): Promise<number>;
  /** A command that changes the database as a risky script would (rows updated and deleted, a table dropped). */
  changeCommand(): string[];
  /**
   * Start a writer committing transfers in a loop from another process; `stop()` ends it. Absent for an
   * engine that lets no other process write while a backup reads (the fixture says why, in
   * `noConcurrentWriter`).
   */
  startWriter?(): Promise<{ stop(): Promise<void> }>;
  /**
   * Have another process hold the database so that the engine cannot take a snapshot (DuckDB: any
   * process with the file open); `pid` is that process. For engines where that can happen.
   */
  holdOpen?(): Promise<{ pid: number; stop(): Promise<void> }>;
  /** Integrity as the engine sees it: resolves when the database opens and passes its own check. */
  assertIntact(): Promise<void>;
  cleanup(): Promise<void>;
}

export interface EngineFixture {
  engine: string;
  /** The sum every consistent state of a fresh database keeps. */
  expectedTotal: number;
  create(): Promise<ContractDatabase>;
  /**
   * Damage a stored backup so that it must fail verification (a flipped byte in its file, a truncated
   * dump). `backupPath` is the `path` the CLI reports for it.
   */
  damageBackup(backupPath: string): Promise<void>;
  /** Why this engine has no concurrent-writer test (its databases never have a writer beside a backup). */
  noConcurrentWriter?: string;
  /** A secret that the fixture put in the database's URL, to be searched for everywhere; none for file engines. */
  secret?: string;
}

interface ListedBackup {
  id: string;
  path: string;
  database: string;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function engineContract(fixture: EngineFixture): void {
  describe(`the engine contract: ${fixture.engine}`, () => {
    const open: ContractDatabase[] = [];
    afterAll(async () => {
      for (const db of open.splice(0)) await db.cleanup();
    });
    const create = async () => {
      const db = await fixture.create();
      open.push(db);
      return db;
    };
    const backup = async (db: ContractDatabase): Promise<ListedBackup> => {
      const r = await runCli(['backup', '--json'], { cwd: db.dir });
      expect(r.code, r.stderr).toBe(0);
      return (JSON.parse(r.stdout) as ListedBackup[])[0]!;
    };

    it('a guarded run is undone by its rollback command: the data is as it was', async () => {
      const db = await create();
      const before = await db.contents();
      const run = await runCli(['--', ...db.changeCommand()], { cwd: db.dir });
      expect(run.code, run.stderr).toBe(0);
      expect(await db.contents()).not.toEqual(before);
      const back = await runCli(['rollback', 'last', '--yes'], { cwd: db.dir });
      expect(back.code, back.stderr).toBe(0);
      expect(await db.contents()).toEqual(before);
      await db.assertIntact();
    });

    const writerTest = 'a backup taken under a busy writer is consistent: restored, its total holds';
    if (fixture.noConcurrentWriter) it.skip(`${writerTest} (not for ${fixture.engine}: ${fixture.noConcurrentWriter})`, () => undefined);
    else it(writerTest, async () => {
      const db = await create();
      const writer = await db.startWriter!();
      let taken: ListedBackup;
      try {
        await sleep(150);
        taken = await backup(db);
        await sleep(100);
      } finally {
        await writer.stop();
      }
      expect(await db.total()).toBe(fixture.expectedTotal);
      const r = await runCli(['restore', taken.id, '--yes'], { cwd: db.dir });
      expect(r.code, r.stderr).toBe(0);
      await db.assertIntact();
      expect(await db.total()).toBe(fixture.expectedTotal);
    });

    // Instead of the writer test: what a user meets when another process keeps the database to itself.
    if (fixture.noConcurrentWriter) it('a guarded run while another process holds the database waits for --wait, then fails in one line naming it; the command never runs', async () => {
      const db = await create();
      const holder = await db.holdOpen!();
      const marker = path.join(db.dir, 'command-ran');
      let r: CliResult;
      const started = Date.now();
      try {
        r = await runCli(['--wait', '1', '--', process.execPath, '-e', `require('fs').writeFileSync(${JSON.stringify(marker)}, '')`], { cwd: db.dir });
      } finally {
        await holder.stop();
      }
      expect(r.code, r.stderr).toBe(125);
      expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
      expect(existsSync(marker)).toBe(false);
      const errors = r.stderr.split('\n').filter((l) => l.startsWith('safe-run:'));
      expect(errors, r.stderr).toHaveLength(1);
      expect(errors[0]).toContain(`pid ${holder.pid}`);
      const list = await runCli(['list', '--json'], { cwd: db.dir });
      expect(JSON.parse(list.stdout)).toEqual([]);
      await db.assertIntact();
    });

    it('a damaged backup fails verification, and the live database is left untouched', async () => {
      const db = await create();
      const taken = await backup(db);
      const run = await runCli(['--', ...db.changeCommand()], { cwd: db.dir });
      expect(run.code, run.stderr).toBe(0);
      const changed = await db.contents();
      await fixture.damageBackup(taken.path);
      const r = await runCli(['restore', taken.id, '--yes'], { cwd: db.dir });
      expect(r.code, r.stderr).toBe(4);
      expect(r.stderr).toMatch(/safe-run:/);
      expect(await db.contents()).toEqual(changed);
      await db.assertIntact();
    });

    it('a kill -9 at any point of a restore leaves the old or the new database, never a mix', async () => {
      const db = await create();
      const before = await db.contents();
      const run = await runCli(['--', ...db.changeCommand()], { cwd: db.dir });
      expect(run.code, run.stderr).toBe(0);
      const after = await db.contents();
      for (const delay of [30, 120, 250, 400]) {
        const child = spawn(process.execPath, [BIN, 'rollback', 'last', '--yes'], { cwd: db.dir, env: { ...process.env, NO_COLOR: '1' }, stdio: 'ignore' });
        // Listen before sleeping: a rollback that finishes within the delay has closed by the time of the kill.
        const closed = new Promise((r) => child.on('close', r));
        await sleep(delay);
        child.kill('SIGKILL');
        await closed;
        const now = await db.contents();
        expect([before, after]).toContainEqual(now);
        await db.assertIntact();
      }
      // Whatever the kills left, the rollback still works afterwards.
      const back = await runCli(['rollback', 'last', '--yes'], { cwd: db.dir });
      expect(back.code, back.stderr).toBe(0);
    }, 150_000); // five CLI processes and their restores: minutes on a loaded 2-core machine, seconds alone

    if (fixture.secret) {
      const secret = fixture.secret;
      it('the password in the URL reaches no file safe-run wrote and no printed output', async () => {
        const db = await create();
        const results: CliResult[] = [];
        results.push(await runCli(['--', ...db.changeCommand()], { cwd: db.dir }));
        results.push(await runCli(['log', '--json'], { cwd: db.dir }));
        results.push(await runCli(['list', '--json'], { cwd: db.dir }));
        results.push(await runCli(['rollback', 'last', '--yes', '--json'], { cwd: db.dir }));
        for (const r of results) {
          expect(r.stdout + r.stderr).not.toContain(secret);
        }
        for (const file of filesUnder(db.dir)) {
          if (path.basename(file) === 'safe-run.config.json') continue; // the user's own config holds it
          expect(readFileSync(file).includes(secret), `${file} holds the password`).toBe(false);
        }
      });
    }
  });
}

function filesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = path.join(dir, name);
    const st = statSync(p);
    if (st.isDirectory()) out.push(...filesUnder(p));
    else if (st.isFile()) out.push(p);
  }
  return out;
}

/** Flip one byte in the middle of a file (for fixtures whose backups are files). */
export async function flipByte(file: string): Promise<void> {
  const buf = await fs.readFile(file);
  const at = Math.floor(buf.length / 2);
  buf[at] = buf[at]! ^ 0xff;
  writeFileSync(file, buf);
}

/**
 * A writer child process that prints "ready" once it commits and stops (exits) when told "stop" on its
 * stdin: the shape of every engine's writer fixture.
 */
export async function startLineWriter(file: string, args: string[]): Promise<{ stop(): Promise<void> }> {
  const child = spawn(process.execPath, [file, ...args], { stdio: ['pipe', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => d.toString().includes('ready') && resolve());
    child.on('exit', (code) => reject(new Error(`writer exited ${code}`)));
  });
  return {
    stop: () =>
      new Promise<void>((resolve) => {
        child.on('exit', () => resolve());
        child.stdin!.end('stop\n');
      }),
  };
}
