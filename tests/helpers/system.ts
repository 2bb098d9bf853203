// What tests need from the machine itself: small tmpfs mounts (a full disk), the unprivileged user, file hashes.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, statfsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { binForNobody, runProcess, type CliResult } from './cli.js';

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
