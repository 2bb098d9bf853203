// safe-run serve against a real PostgreSQL database: the scheduled kinds, and retention dropping the clones
// of the backups it removes from the server as well as from the store.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { startCli } from '../helpers/cli.js';
import { listOf, waitFor } from '../helpers/review.js';
import { cleanups, freshDb, SERVER, sql } from './pg-test-db.js';

describe('safe-run serve with PostgreSQL', () => {
  it('takes startup, scheduled and shutdown backups, and retention drops the server copies of those it removes', async () => {
    const db = await freshDb();
    const dir = mkdtempSync(path.join(os.tmpdir(), 'safe-run-pg-serve-'));
    cleanups.push(async () => rmSync(dir, { recursive: true, force: true }));
    writeFileSync(path.join(dir, 'safe-run.config.json'), JSON.stringify({ databases: [{ name: 'bank', url: `${SERVER}/${db}` }], retention: { keepLast: 2, auto: true } }));
    const child = startCli(['serve', '--json', '--port', '0', '--every', '1s'], { cwd: dir });
    cleanups.push(async () => child.kill('SIGKILL'));
    const events: Array<{ type: string; kind?: string; pruned?: number; backup?: { id: string } }> = [];
    let stderr = '';
    let partial = '';
    child.stderr.on('data', (d) => (stderr += d));
    child.stdout.on('data', (d: Buffer) => {
      const lines = (partial + d.toString()).split('\n');
      partial = lines.pop()!;
      for (const l of lines) if (l.trim()) events.push(JSON.parse(l));
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const doneOf = (kind: string) => events.filter((e) => e.type === 'backup-done' && e.kind === kind);
    await waitFor(() => doneOf('scheduled').length >= 3, 60_000, `no three scheduled backups:\n${stderr}`);
    child.kill('SIGTERM');
    expect(await exited, stderr).toBe(0);
    expect(doneOf('startup')).toHaveLength(1);
    expect(doneOf('shutdown')).toHaveLength(1);

    // What retention kept: the two newest (the shutdown backup and the last scheduled one).
    const listed = await listOf(dir);
    expect(listed.map((b) => b.kind)).toEqual(['shutdown', 'scheduled']);
    expect(listed.every((b) => b.state === 'verified')).toBe(true);
    // Their clones are on the server; the clones of the removed backups are gone from it.
    const all = events.filter((e) => e.type === 'backup-done').map((e) => e.backup!.id);
    expect(events.reduce((n, e) => n + (e.pruned ?? 0), 0)).toBe(all.length - 2);
    const copies = listed.map((b) => b.serverCopy?.name).filter((n): n is string => n !== undefined);
    expect(copies).toHaveLength(2); // the premise: an idle database is backed up as a clone on its server
    const onServer = (await sql<{ d: string }>('postgres', `SELECT datname AS d FROM pg_database WHERE datname LIKE 'safe\\_run\\_%'`)).map((r) => r.d);
    for (const name of copies) expect(onServer).toContain(name);
    for (const id of all.filter((id) => !listed.some((b) => b.id === id))) expect(onServer.filter((d) => d.includes(id))).toEqual([]);
    cleanups.push(async () => {
      for (const name of copies) await sql('postgres', `DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    });
  });
});
