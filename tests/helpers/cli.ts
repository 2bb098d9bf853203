// Run the real CLI as a child process, in temp projects with real SQLite files.
import Database from 'better-sqlite3';
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, cpSync, mkdirSync, mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const BIN = path.join(ROOT, 'bin', 'safe-run.js');
export const FIXTURES = path.join(ROOT, 'tests', 'fixtures');

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  cwd: string;
  env?: Record<string, string | undefined>;
  input?: string;
  timeoutMs?: number;
}

/** The environment of a CLI child: no colours, nothing inherited that changes behaviour. */
function childEnv(extra?: Record<string, string | undefined>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1', FORCE_COLOR: undefined, ...extra };
  for (const [k, v] of Object.entries(env)) if (v === undefined) delete env[k];
  return env;
}

/** Run any program to completion with the CLI's environment, collecting its output. */
export function runProcess(file: string, args: string[], opts: CliOptions): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { cwd: opts.cwd, env: childEnv(opts.env), stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.stdin.end(opts.input ?? '');
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 50_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

/** Run `safe-run args…` to completion (async, so a test can do other things meanwhile). */
export function runCli(args: string[], opts: CliOptions): Promise<CliResult> {
  return runProcess(process.execPath, [BIN, ...args], opts);
}

/** Start `safe-run args…` and hand back the child, for tests that signal or kill it. */
export function startCli(args: string[], opts: CliOptions) {
  return spawn(process.execPath, [BIN, ...args], { cwd: opts.cwd, env: childEnv(opts.env), stdio: ['ignore', 'pipe', 'pipe'] });
}

export function runCliSync(args: string[], opts: CliOptions): CliResult {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd: opts.cwd, env: childEnv(opts.env), input: opts.input ?? '', encoding: 'utf8' });
  return { code: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr };
}

/** A temp project directory with a config naming one SQLite database `app` at data/app.db. */
export function tempProject(prefix = 'safe-run-test-', opts: { dbName?: string; wal?: boolean; rows?: number } = {}) {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  const dbRel = path.join('data', opts.dbName ?? 'app.db');
  const dbPath = path.join(dir, dbRel);
  mkdirSync(path.dirname(dbPath), { recursive: true });
  makeSampleDb(dbPath, { wal: opts.wal ?? true, rows: opts.rows ?? 100 });
  writeFileSync(path.join(dir, 'safe-run.config.json'), JSON.stringify({ databases: [{ name: 'app', url: dbRel }] }, null, 2));
  return {
    dir,
    dbPath,
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** A small database: users(id, name, balance) with `rows` rows whose balances sum to 100 * rows. */
export function makeSampleDb(file: string, opts: { wal?: boolean; rows?: number } = {}) {
  const db = new Database(file);
  if (opts.wal ?? true) db.pragma('journal_mode = WAL');
  db.exec('CREATE TABLE IF NOT EXISTS users (id INTEGER PRIMARY KEY, name TEXT NOT NULL, balance INTEGER NOT NULL)');
  const insert = db.prepare('INSERT INTO users (name, balance) VALUES (?, 100)');
  db.transaction((n: number) => {
    for (let i = 0; i < n; i++) insert.run(`user ${i}`);
  })(opts.rows ?? 100);
  db.close();
}

/** Every row of a table, for comparing the data before and after. */
export function rowsOf(file: string, table = 'users'): unknown[] {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    return db.prepare(`SELECT * FROM "${table}" ORDER BY rowid`).all();
  } finally {
    db.close();
  }
}

export function integrityOf(file: string): string {
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    return (db.pragma('integrity_check', { simple: true }) as string) ?? '';
  } finally {
    db.close();
  }
}

/** The rollback command printed by a guarded run (the line starting with "undo"). */
export function rollbackLine(stderr: string): string {
  const line = stderr.split('\n').find((l) => /^undo\s/.test(l));
  if (!line) throw new Error(`no rollback command in:\n${stderr}`);
  return line.replace(/^undo\s+/, '').trim();
}

let nobodyBin: string | undefined;

/**
 * The CLI as an unprivileged user can run it. The checkout may sit under a directory only its owner can
 * enter (a CI clone in a 0700 temp dir, a private home): then the built CLI and the one native module it
 * loads are copied once to a world-readable temp dir.
 */
export function binForNobody(): string {
  if (nobodyBin) return nobodyBin;
  const readable = spawnSync('setpriv', ['--reuid=nobody', '--regid=nogroup', '--clear-groups', 'test', '-r', BIN]).status === 0;
  if (readable) return (nobodyBin = BIN);
  const root = mkdtempSync(path.join(os.tmpdir(), 'safe-run-public-'));
  chmodSync(root, 0o755);
  const copy = (rel: string) => cpSync(path.join(ROOT, rel), path.join(root, rel), { recursive: true });
  for (const rel of ['package.json', 'bin', 'dist', 'node_modules/bindings', 'node_modules/file-uri-to-path']) copy(rel);
  for (const rel of ['package.json', 'lib', 'build/Release/better_sqlite3.node']) copy(path.join('node_modules/better-sqlite3', rel));
  spawnSync('chmod', ['-R', 'a+rX', root]);
  process.on('exit', () => rmSync(root, { recursive: true, force: true }));
  return (nobodyBin = path.join(root, 'bin', 'safe-run.js'));
}

/**
 * A temp project whose database `app` holds `mb` MB of 64 KB blobs besides its 50 users, so that backing
 * it up or copying it takes a while (kill and signal tests). The caller removes it with `cleanup`.
 */
export function bigProject(prefix: string, mb: number) {
  const p = tempProject(prefix, { rows: 50 });
  const db = new Database(p.dbPath);
  db.exec('CREATE TABLE blobs (id INTEGER PRIMARY KEY, data BLOB NOT NULL)');
  const ins = db.prepare('INSERT INTO blobs (data) VALUES (?)');
  db.transaction(() => {
    for (let i = 0; i < mb * 16; i++) ins.run(randomBytes(65536));
  })();
  db.close();
  return { ...p, storeDir: path.join(p.dir, 'backups', 'app'), dataDir: path.dirname(p.dbPath), dbName: path.basename(p.dbPath) };
}
