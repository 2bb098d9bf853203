// Give the server's tools (mariadb-dump, mariadb) the password without putting it where other users
// can read it: never argv (/proc/<pid>/cmdline is world-readable), never the environment, only a 0600
// option file in a private 0700 temp dir, passed as --defaults-extra-file (which must be the first
// argument), removed afterwards, on errors and on SIGINT/SIGTERM/exit too.
import { spawn } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { chmod, mkdtemp, open, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { MyTarget } from './url.js';

const liveDirs = new Set<string>();
const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
const removeAllSync = () => {
  for (const d of liveDirs) rmSync(d, { recursive: true, force: true });
  liveDirs.clear();
};
function onSignal(signal: NodeJS.Signals): void {
  removeAllSync();
  for (const s of SIGNALS) process.off(s, onSignal);
  if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
}

/** An option file value, quoted so that any password survives (the tools unescape \\ and \"). */
function optionValue(v: string): string {
  return `"${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

/**
 * Run `fn` with the arguments every tool must start with: `--defaults-extra-file=<0600 file>` holding
 * [client] user, password, host and port. The user's own option files are still read before it.
 */
export async function withDefaultsFile<T>(t: MyTarget, fn: (firstArgs: string[]) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'safe-run-mycnf-'));
  liveDirs.add(dir);
  if (liveDirs.size === 1) {
    for (const s of SIGNALS) process.on(s, onSignal);
    process.on('exit', removeAllSync);
  }
  try {
    await chmod(dir, 0o700);
    const file = join(dir, 'client.cnf');
    const lines = ['[client]', `user=${optionValue(t.user)}`];
    if (t.password !== undefined) lines.push(`password=${optionValue(t.password)}`);
    if (t.socket) lines.push(`socket=${optionValue(t.socket)}`);
    else lines.push(`host=${optionValue(t.host)}`, `port=${t.port}`, 'protocol=TCP');
    await writeFile(file, lines.join('\n') + '\n', { mode: 0o600, flag: 'wx' });
    return await fn([`--defaults-extra-file=${file}`]);
  } finally {
    liveDirs.delete(dir);
    if (liveDirs.size === 0) {
      for (const s of SIGNALS) process.off(s, onSignal);
      process.off('exit', removeAllSync);
    }
    await rm(dir, { recursive: true, force: true });
  }
}

/** The MariaDB tool if installed, else its MySQL name (mariadb-dump → mysqldump, mariadb → mysql). */
export function toolPath(name: 'mariadb-dump' | 'mariadb'): string {
  for (const dir of (process.env.PATH ?? '').split(':')) if (dir && existsSync(join(dir, name))) return name;
  return name === 'mariadb-dump' ? 'mysqldump' : 'mysql';
}

/** Run a tool with stdin from `input` and stdout to `output` (files); rejects with its stderr. */
export async function runTool(tool: string, args: string[], io: { input?: string; output?: string }): Promise<void> {
  const inFh = io.input ? await open(io.input, 'r') : undefined;
  const outFh = io.output ? await open(io.output, 'wx', 0o600) : undefined;
  try {
    await new Promise<void>((resolve, reject) => {
      const child = spawn(tool, args, { stdio: [inFh ? inFh.fd : 'ignore', outFh ? outFh.fd : 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr!.on('data', (d) => (stderr += d));
      child.on('error', (err) => reject(Object.assign(new Error(`${tool}: ${err.message}`), { code: (err as { code?: string }).code })));
      child.on('close', (code, signal) => (code === 0 ? resolve() : reject(new Error(stderr.trim() || `${tool} exited with ${code ?? signal}`))));
    });
    if (outFh) await outFh.sync();
  } finally {
    await inFh?.close();
    await outFh?.close();
  }
}

export async function writeOnce(file: string, text: string): Promise<void> {
  await writeFile(file, text, { mode: 0o600, flag: 'wx' });
}
