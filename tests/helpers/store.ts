// Reading and shaping the backup store from tests: what is listed, and many backups made quickly.
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { RunRecord } from '../../src/oplog/run-record.js';
import type { Backup } from '../../src/store/manifest.js';
import { runCli } from './cli.js';

export async function listOf(dir: string): Promise<Array<Backup & { state: string; pinned: boolean }>> {
  const r = await runCli(['list', '--json'], { cwd: dir });
  if (r.code !== 0) throw new Error(r.stderr);
  return JSON.parse(r.stdout);
}

export function logOf(dir: string): RunRecord[] {
  return JSON.parse(readFileSync(path.join(dir, 'logs', 'operations.json'), 'utf8')).runs;
}

/**
 * Copies of a real backup under new ids, one per entry of `ages` (hours before now), as if taken then:
 * a store with history, without waiting for it. Each copy is whole (its file matches its manifest).
 */
export function copiesOf(b: Backup, agesInHours: number[]): string[] {
  const dir = path.dirname(b.path);
  return agesInHours.map((h, i) => {
    const id = `${b.id.slice(0, 6)}${String(i).padStart(6, '0')}`;
    const to = path.join(path.dirname(dir), id);
    cpSync(dir, to, { recursive: true });
    const manifest = JSON.parse(readFileSync(path.join(to, 'manifest.json'), 'utf8'));
    writeFileSync(path.join(to, 'manifest.json'), JSON.stringify({ ...manifest, id, kind: 'pre-run', runId: undefined, createdAt: new Date(Date.now() - h * 3_600_000).toISOString() }));
    return id;
  });
}
