// Give the server's tools a password without putting it where other users can read it: never argv
// (/proc/<pid>/cmdline is world-readable), never the child's environment, only a 0600 PGPASSFILE in a
// private 0700 temp dir that is removed afterwards, on errors and on SIGINT/SIGTERM too.
import { chmodSync, existsSync, readFileSync, rmSync, statSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { OPTION_ENV, type PgTarget } from './url.js';

/** Temp dirs holding a passfile right now; removed synchronously if the process is signalled. */
const liveDirs = new Set<string>();
const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

function removeAllSync(): void {
  for (const dir of liveDirs) rmSync(dir, { recursive: true, force: true });
  liveDirs.clear();
}

function onSignal(signal: NodeJS.Signals): void {
  removeAllSync();
  uninstall();
  // If nobody else handles the signal, die of it as we would have without our handler.
  if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
}

function install(): void {
  if (liveDirs.size !== 1) return;
  for (const s of SIGNALS) process.on(s, onSignal);
  process.on('exit', removeAllSync);
}

function uninstall(): void {
  for (const s of SIGNALS) process.off(s, onSignal);
  process.off('exit', removeAllSync);
}

/** One line of a libpq password file; ":" and "\" are escaped with "\". */
function passfileLine(password: string): string {
  const esc = password.replace(/\\/g, '\\\\').replace(/:/g, '\\:');
  // The file is private to this one run, so wildcards match whatever host/db the tool connects to.
  return `*:*:*:*:${esc}\n`;
}

/**
 * The environment for pg_dump / pg_restore / psql reaching `target`: PGHOST, PGPORT, PGUSER, PGDATABASE,
 * PGAPPNAME and the libpq options as variables, PGPASSWORD and PGSERVICE removed. When a password is
 * known, `fn` runs with PGPASSFILE pointing at a 0600 file in a fresh 0700 dir; the dir is removed when
 * `fn` settles, and synchronously on SIGINT/SIGTERM/SIGHUP or exit while it runs. Without a password the
 * user's own PGPASSFILE / ~/.pgpass stays in effect.
 */
export async function withToolEnv<T>(target: PgTarget, appName: string, fn: (env: NodeJS.ProcessEnv) => Promise<T>): Promise<T> {
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.PGPASSWORD;
  delete env.PGSERVICE;
  delete env.PGSERVICEFILE;
  env.PGHOST = target.host;
  env.PGPORT = String(target.port);
  env.PGUSER = target.user;
  env.PGDATABASE = target.database;
  env.PGAPPNAME = appName;
  for (const [k, v] of Object.entries(target.options)) {
    const name = OPTION_ENV[k];
    if (name) env[name] = v;
  }
  if (target.password === undefined) return fn(env);

  const dir = await mkdtemp(join(tmpdir(), 'safe-run-pg-'));
  liveDirs.add(dir);
  install();
  try {
    chmodSync(dir, 0o700);
    const file = join(dir, 'pgpass');
    await writeFile(file, passfileLine(target.password), { mode: 0o600, flag: 'wx' });
    env.PGPASSFILE = file;
    return await fn(env);
  } finally {
    liveDirs.delete(dir);
    if (liveDirs.size === 0) uninstall();
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * The password libpq would take from PGPASSFILE or ~/.pgpass for `target`, or undefined. `pg` is given
 * this explicitly because its own .pgpass support is deprecated. Like libpq, a file readable by group or
 * others is ignored.
 */
export function passwordFromPgpass(target: PgTarget, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const file = env.PGPASSFILE ?? join(env.HOME ?? homedir(), '.pgpass');
  if (!existsSync(file)) return undefined;
  let text: string;
  try {
    if ((statSync(file).mode & 0o077) !== 0) return undefined;
    text = readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  const host = target.host.startsWith('/') ? 'localhost' : target.host;
  const want = [host, String(target.port), target.database, target.user];
  for (const line of text.split('\n')) {
    if (line.trim() === '' || line.startsWith('#')) continue;
    const fields = splitPgpassLine(line);
    if (fields.length < 5) continue;
    if (want.every((w, i) => fields[i] === '*' || fields[i] === w)) return fields[4];
  }
  return undefined;
}

function splitPgpassLine(line: string): string[] {
  const out: string[] = [];
  let cur = '';
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (c === '\\' && i + 1 < line.length) cur += line[++i];
    else if (c === ':' && out.length < 4) (out.push(cur), (cur = ''));
    else cur += c;
  }
  out.push(cur);
  return out;
}
