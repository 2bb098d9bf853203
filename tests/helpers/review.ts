// What a user checks after a run: the log and the store as the CLI reports them, and waiting for a file.
import { expect } from 'vitest';
import type { BackupRef, RunRecord } from '../../src/oplog/run-record.js';
import type { Backup } from '../../src/store/manifest.js';
import { runCli } from './cli.js';

/** The runs of `safe-run log --json` (newest first). */
export async function logOf(cwd: string, extra: string[] = []): Promise<Array<RunRecord & { backups: BackupRef[] }>> {
  const r = await runCli(['log', '--json', ...extra], { cwd });
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as RunRecord[];
}

/** The backups of `safe-run list --json`. */
export async function listOf(cwd: string, extra: string[] = []): Promise<Array<Backup & { present: boolean; state: string }>> {
  const r = await runCli(['list', '--json', ...extra], { cwd });
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as Array<Backup & { present: boolean; state: string }>;
}

/** Poll `cond` every few ms until it holds; fail with `why` after `timeoutMs`. */
export async function waitFor(cond: () => boolean, timeoutMs: number, why: string): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > timeoutMs) throw new Error(why);
    await new Promise((r) => setTimeout(r, 3));
  }
}
