// The dashboard's pages and API say what the CLI says about the same store and log, and its Verify
// catches a backup whose file changed: over HTTP against the real `safe-run serve`.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openSync, writeSync, closeSync } from 'node:fs';
import { rollbackLine, runCli, tempProject } from './helpers/cli.js';
import { csrfOf, request, startDashboardServer, type RunningDashboard } from './helpers/dashboard.js';
import { listOf } from './helpers/store.js';

describe('the dashboard over a project with history', () => {
  let p: ReturnType<typeof tempProject>;
  let server: RunningDashboard;
  let undo: string;
  beforeAll(async () => {
    p = tempProject('safe-run-web-pages-');
    const ok = await runCli(['--reason', 'trim users <img src=x onerror=alert(1)>', '--', 'sqlite3', 'data/app.db', 'DELETE FROM users WHERE id > 90'], { cwd: p.dir });
    expect(ok.code, ok.stderr).toBe(0);
    undo = rollbackLine(ok.stderr);
    const failed = await runCli(['--', 'sh', '-c', 'exit 3'], { cwd: p.dir });
    expect(failed.code).toBe(3);
    server = await startDashboardServer(p.dir);
  });
  afterAll(async () => {
    await server?.stop();
    p?.cleanup();
  });

  it('lists the runs newest first with the failed one marked, as safe-run log does', async () => {
    const log = JSON.parse((await runCli(['log', '--json'], { cwd: p.dir })).stdout) as Array<{ id: string; exitCode: number | null }>;
    const api = JSON.parse((await request(server.port, 'GET', '/api/runs')).body);
    expect(api.runs.map((r: { id: string }) => r.id)).toEqual(log.map((r) => r.id));
    expect(api.total).toBe(log.length);
    const failedId = log.find((r) => r.exitCode === 3)!.id;
    expect(api.runs.find((r: { id: string }) => r.id === failedId).failed).toBe(true);

    const page = (await request(server.port, 'GET', '/runs')).body;
    const rows = [...page.matchAll(/<tr class="([^"]*)" data-run="([0-9a-f]+)"/g)].map((m) => ({ cls: m[1], id: m[2] }));
    expect(rows.map((r) => r.id)).toEqual(log.map((r) => r.id));
    expect(rows.filter((r) => r.cls === 'failed').map((r) => r.id)).toEqual([failedId]);
  });

  it('shows one run, its reason escaped, with what it changed and the same rollback command the CLI printed', async () => {
    const runId = undo.split(' ').at(-1)!;
    const page = (await request(server.port, 'GET', `/runs/${runId}`)).body;
    expect(page).toContain('trim users &lt;img src=x onerror=alert(1)&gt;'); // escaped, never markup
    expect(page).not.toContain('<img');
    expect(page).toMatch(/<pre id="changes">app: users −10 \(of 100\)<\/pre>/);
    expect(page).toContain(`<pre id="undo">${undo}</pre>`);
  });

  it('gives the same backups and statistics as safe-run list', async () => {
    const list = await listOf(p.dir);
    const api = JSON.parse((await request(server.port, 'GET', '/api/backups')).body) as Array<{ id: string; state: string; kind: string; bytes: number }>;
    expect(api.map((b) => b.id).sort()).toEqual(list.map((b) => b.id).sort());
    expect(api.every((b) => b.state === 'verified')).toBe(true);
    const stats = JSON.parse((await request(server.port, 'GET', '/api/stats')).body);
    expect(stats.count).toBe(list.length);
    expect(stats.byKind).toEqual({ 'pre-run': 2, startup: 1 });
    expect(stats.byDatabase.app.count).toBe(list.length);
    expect(stats.bytes).toBe(api.reduce((sum, b) => sum + b.bytes, 0));
    expect(stats.newest).toBe(list.map((b) => b.createdAt).sort().at(-1));
    expect(stats.oldest).toBe(list.map((b) => b.createdAt).sort()[0]);
    const health = JSON.parse((await request(server.port, 'GET', '/api/health')).body);
    expect(health.databases.map((d: { name: string }) => d.name)).toEqual(['app']);
  });

  it('verifies a backup from the page, and says so when its file has changed since', async () => {
    const csrf = csrfOf((await request(server.port, 'GET', '/backups')).body);
    const [good, bad] = (await listOf(p.dir)).filter((b) => b.kind === 'pre-run');
    const verify = async (id: string) => {
      const r = await request(server.port, 'POST', `/backups/${id}/verify`, { form: { csrf } });
      expect(r.status).toBe(303);
      return (await request(server.port, 'GET', r.headers.location!.replace(/#.*/, ''))).body;
    };
    expect(await verify(good!.id)).toMatch(/<p class="notice" role="status">Verified backup [0-9a-f]{8} of app/);

    // One byte of the backup changes in place (same size: the cheap look of list still says verified).
    const fd = openSync(bad!.path, 'r+');
    writeSync(fd, Buffer.from([0x42]), 0, 1, 4000);
    closeSync(fd);
    const page = await verify(bad!.id);
    expect(page).toMatch(/<p class="notice error" role="status">backup [0-9a-f]{8} of app failed its re-check: sha256 differs/);
    expect(page).toMatch(/failed re-check/);
    const after = await listOf(p.dir);
    expect(after.find((b) => b.id === good!.id)!.lastVerified).toMatchObject({ ok: true });
    expect(after.find((b) => b.id === bad!.id)!.lastVerified).toMatchObject({ ok: false });
  });
});
