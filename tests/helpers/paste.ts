// Temp directories removed after the file's tests, and pasting a printed command into sh as a user would.
import { afterAll } from 'vitest';
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BIN, runProcess, type CliResult } from './cli.js';

const temps: string[] = [];
afterAll(() => temps.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));

/** A fresh directory under the system's temp dir, removed when the test file is done. */
export function tempDir(prefix: string): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  temps.push(dir);
  return dir;
}

/** Remove `dir` with the other temp dirs when the test file is done. */
export function removeLater(dir: string): void {
  temps.push(dir);
}

let binDir: string | undefined;

/** Paste `line` into sh in `cwd`, with `safe-run` on PATH as an installed package provides it. */
export function pasteIntoShell(line: string, cwd: string): Promise<CliResult> {
  if (!binDir) {
    binDir = tempDir('safe-run-bin-');
    symlinkSync(BIN, path.join(binDir, 'safe-run'));
  }
  return runProcess('sh', ['-c', line], { cwd, env: { PATH: `${binDir}:${process.env.PATH}` } });
}
