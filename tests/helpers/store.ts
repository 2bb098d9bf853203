// Reading and shaping the backup store from tests: what is listed, and many backups made quickly.
import { closeSync, cpSync, existsSync, openSync, readdirSync, readFileSync, readSync, writeFileSync } from 'node:fs';
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

/**
 * The database file a backup holds: its own file, or for a page backup (a repeat backup that keeps only
 * the pages no earlier backup had) that file put together here from the store as the README describes
 * it, independently of safe-run's own code: page i is the page whose hash is the i-th of pages.idx, found
 * in any pack of the database's backups (pages.pack with pages.hashes, moved-*.pack with its .hashes, a
 * full snapshot.sqlite with its pages.idx), written to `<cwd>/reassembled-<id>.db`. The caller compares
 * the result with the backup's sha256.
 */
export async function backupFileOf(cwd: string, b: { id: string; path: string; pages?: unknown }): Promise<string> {
  if (!b.pages) return b.path;
  const dir = path.dirname(b.path);
  const dbDir = path.dirname(dir);
  const hashList = (file: string) => {
    const data = readFileSync(file);
    const count = data.readUInt32LE(12);
    return { pageSize: data.readUInt32LE(8), count, at: (i: number) => data.toString('latin1', 16 + i * 16, 32 + i * 16) };
  };
  const where = new Map<string, { file: string; slot: number }>();
  const addPack = (data: string, hashes: string) => {
    if (!existsSync(data) || !existsSync(hashes)) return;
    const list = hashList(hashes);
    for (let slot = 0; slot < list.count; slot++) if (!where.has(list.at(slot))) where.set(list.at(slot), { file: data, slot });
  };
  for (const id of readdirSync(dbDir).filter((n) => !n.startsWith('.'))) {
    const d = path.join(dbDir, id);
    addPack(path.join(d, 'pages.pack'), path.join(d, 'pages.hashes'));
    addPack(path.join(d, 'snapshot.sqlite'), path.join(d, 'pages.idx'));
    for (const n of existsSync(d) ? readdirSync(d) : []) if (/^moved-.*\.hashes$/.test(n)) addPack(path.join(d, n.replace(/\.hashes$/, '.pack')), path.join(d, n));
  }
  const index = hashList(path.join(dir, 'pages.idx'));
  const out = Buffer.alloc(index.count * index.pageSize);
  for (let i = 0; i < index.count; i++) {
    const at = where.get(index.at(i));
    if (!at) throw new Error(`page ${i + 1} of backup ${b.id} is in no pack`);
    const fd = openSync(at.file, 'r');
    readSync(fd, out, i * index.pageSize, index.pageSize, at.slot * index.pageSize);
    closeSync(fd);
  }
  const into = path.join(cwd, `reassembled-${b.id}.db`); // in the project: removed with it
  writeFileSync(into, out, { mode: 0o600 }); // private, like every backup file
  return into;
}

/**
 * Flip one byte of what a backup stores itself: its file at `at`, or for a page backup a byte of its page
 * list (its pack may be empty, when nothing changed since the backup before it): either way its recorded
 * sha256 no longer matches, and the backups it shares pages with are not touched.
 */
export function flipStoredByte(b: { path: string; pages?: unknown }, at: number): void {
  const file = b.pages ? path.join(path.dirname(b.path), 'pages.idx') : b.path;
  const bytes = readFileSync(file);
  const i = b.pages ? 20 : at;
  bytes[i] = bytes[i]! ^ 0xff;
  writeFileSync(file, bytes);
}
