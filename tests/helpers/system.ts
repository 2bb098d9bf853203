// What tests need from the machine itself: small tmpfs mounts (a full disk), the unprivileged user, file hashes.
import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, statfsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { binForNobody, ROOT, runProcess, type CliResult } from './cli.js';

const mounted: string[] = [];

/** Mount a tmpfs of `size` (e.g. "2m") at `dir`; unmountAll() takes it away again. */
export function mountTmpfs(dir: string, size: string): void {
  mkdirSync(dir, { recursive: true });
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir]);
  mounted.push(dir);
}

export function unmountAll(): void {
  for (const dir of mounted.splice(0).reverse()) {
    try {
      execFileSync('umount', [dir]);
    } catch {
      execFileSync('umount', ['-l', dir]);
    }
  }
}

/** Fill the file system of `dir` until fewer than `leaveBytes` are free. */
export function fillUntil(dir: string, leaveBytes: number): void {
  const { bavail, bsize } = statfsSync(dir);
  const fill = bavail * bsize - leaveBytes;
  if (fill > 0) writeFileSync(path.join(dir, 'filler'), Buffer.alloc(fill));
}

/** Run the CLI as the unprivileged user nobody (root may write anywhere whatever the modes say). */
export function runAsNobody(args: string[], cwd: string): Promise<CliResult> {
  return runProcess('setpriv', ['--reuid=nobody', '--regid=nogroup', '--clear-groups', process.execPath, binForNobody(), ...args], { cwd });
}

export function sha256Of(file: string): string {
  return createHash('sha256').update(readFileSync(file)).digest('hex');
}

const sqlite = path.join(ROOT, 'node_modules', 'better-sqlite3');

/**
 * A node process that opens `file` as `db` and runs `code` (which prints "ready" once it holds what it
 * should): an application keeping the database open. `ready` resolves on that line.
 */
export function holdOpen(file: string, code: string) {
  const child = spawn(process.execPath, ['-e', `const D=require(${JSON.stringify(sqlite)});const db=new D(${JSON.stringify(file)});${code}`], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const ready = new Promise<void>((resolve) => child.stdout.on('data', (d) => String(d).includes('ready') && resolve()));
  return { child, ready, done: new Promise((r) => child.on('exit', r)) };
}
