// The dashboard's defences, over HTTP against a really started server and a real project: the token,
// the CSRF token of every form, ids that are never paths, a busy database, and the response headers.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { rowsOf, runCli, startCli, tempProject } from './helpers/cli.js';
import { csrfOf, fingerprint, request, startDashboardServer, type RunningDashboard } from './helpers/dashboard.js';
import { listOf, logOf } from './helpers/store.js';

const TOKEN = 'correct-horse-battery-staple-4711';

/** A project with one backup, whose database then changed (so a restore would change something). */
async function projectWithBackup() {
  const p = tempProject('safe-run-web-sec-');
  const r = await runCli(['backup', '--reason', 'baseline'], { cwd: p.dir });
  expect(r.code, r.stderr).toBe(0);
  await runCli(['--', 'sqlite3', 'data/app.db', "DELETE FROM users WHERE id > 50"], { cwd: p.dir });
  const backup = (await listOf(p.dir)).find((b) => b.reason === 'baseline');
  return { ...p, backupId: backup!.id };
}

describe('a dashboard started with a token', () => {
  let p: Awaited<ReturnType<typeof projectWithBackup>>;
  let server: RunningDashboard;
  beforeAll(async () => {
    p = await projectWithBackup();
    server = await startDashboardServer(p.dir, { token: TOKEN });
  });
  afterAll(async () => {
    await server?.stop();
    p?.cleanup();
  });

  it('answers 401 to every page, API call and form without the token, and does nothing', async () => {
    const before = fingerprint(p.dir);
    for (const where of ['/', '/runs', '/backups', '/health', `/backups/${p.backupId}/restore`]) {
      expect((await request(server.port, 'GET', where)).status, where).toBe(401);
    }
    const api = await request(server.port, 'GET', '/api/backups');
    expect(api.status).toBe(401);
    expect(JSON.parse(api.body).error).toMatch(/token/);
    expect(api.body).not.toContain(p.backupId);
    expect((await request(server.port, 'POST', '/backups', { form: { reason: 'no token' } })).status).toBe(401);
    expect((await request(server.port, 'POST', `/backups/${p.backupId}/restore`, { form: { confirm: 'app' } })).status).toBe(401);
    expect((await request(server.port, 'GET', '/', { headers: { authorization: 'Bearer wrong-token' } })).status).toBe(401);
    expect((await request(server.port, 'GET', '/', { headers: { cookie: 'token=wrong-token' } })).status).toBe(401);
    expect((await request(server.port, 'GET', '/?token=wrong-token')).status).toBe(401);
    expect(fingerprint(p.dir)).toEqual(before);
  });

  it('lets in a request with the bearer token, and sets an HttpOnly SameSite=Strict cookie from ?token= once, which is not the token', async () => {
    const bearer = await request(server.port, 'GET', '/api/backups', { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(bearer.status).toBe(200);
    expect(JSON.parse(bearer.body).map((b: { id: string }) => b.id)).toContain(p.backupId);

    const first = await request(server.port, 'GET', `/backups?token=${TOKEN}`);
    expect(first.status).toBe(303);
    expect(first.headers.location).toBe('/backups'); // the token leaves the address bar
    const cookie = String(first.headers['set-cookie']);
    expect(cookie).toMatch(/HttpOnly/i);
    expect(cookie).toMatch(/SameSite=Strict/i);
    // A browser sends a cookie of 127.0.0.1 to every port there (cookies know no ports): to any other
    // local web app too. So the cookie is a value of this server start, never the token itself.
    expect(cookie).not.toContain(TOKEN);
    expect(cookie).not.toContain(encodeURIComponent(TOKEN));
    const session = /^([^;]+)/.exec(cookie)![1]!;
    const withCookie = await request(server.port, 'GET', '/backups', { headers: { cookie: session } });
    expect(withCookie.status).toBe(200);
    expect(withCookie.body).toContain(p.backupId);
    const forged = await request(server.port, 'GET', '/backups', { headers: { cookie: session.replace(/=.*/, `=${TOKEN}`) } });
    expect(forged.status).toBe(401);
  });
});

describe('a dashboard on localhost without a token', () => {
  let p: Awaited<ReturnType<typeof projectWithBackup>>;
  let server: RunningDashboard;
  let csrf: string;
  beforeAll(async () => {
    p = await projectWithBackup();
    server = await startDashboardServer(p.dir);
    csrf = csrfOf((await request(server.port, 'GET', '/backups')).body);
  });
  afterAll(async () => {
    await server?.stop();
    p?.cleanup();
  });

  it('refuses a form without the CSRF token, or with a wrong one, with 403: store, log and database stay identical', async () => {
    const rows = rowsOf(p.dbPath);
    const before = fingerprint(p.dir);
    const attempts: Array<[string, Record<string, string>]> = [
      ['/backups', { reason: 'forged' }],
      ['/backups', { reason: 'forged', csrf: 'x'.repeat(csrf.length) }],
      [`/backups/${p.backupId}/verify`, {}],
      [`/backups/${p.backupId}/restore`, { confirm: 'app' }],
      [`/backups/${p.backupId}/restore`, { confirm: 'app', csrf: `${csrf}x` }],
    ];
    for (const [where, form] of attempts) {
      const r = await request(server.port, 'POST', where, { form });
      expect(r.status, `${where} ${JSON.stringify(form)}`).toBe(403);
      expect(r.body).toMatch(/nothing was done/);
    }
    expect(fingerprint(p.dir)).toEqual(before);
    expect(rowsOf(p.dbPath)).toEqual(rows);
    expect(logOf(p.dir).some((r) => r.reason === 'forged')).toBe(false);
  });

  it('answers 404 to ids that are paths (../../etc/passwd, %2e%2e%2f) and touches nothing', async () => {
    const rows = rowsOf(p.dbPath);
    const before = fingerprint(p.dir);
    const ids = ['../../etc/passwd', '..%2f..%2fetc%2fpasswd', '%2e%2e%2f%2e%2e%2fetc%2fpasswd', `${p.backupId}%2f..`, p.backupId.slice(0, 6)];
    for (const id of ids) {
      expect((await request(server.port, 'GET', `/backups/${id}/restore`)).status, `GET ${id}`).toBe(404);
      expect((await request(server.port, 'GET', `/runs/${id}`)).status, `GET run ${id}`).toBe(404);
      for (const action of ['verify', 'restore']) {
        const r = await request(server.port, 'POST', `/backups/${id}/${action}`, { form: { csrf, confirm: 'app' } });
        expect(r.status, `POST ${id}/${action}`).toBe(404);
        expect(r.body).not.toMatch(/root:|at .*\.js:\d+/); // neither the file nor a stack trace
      }
    }
    expect(fingerprint(p.dir)).toEqual(before);
    expect(rowsOf(p.dbPath)).toEqual(rows);
    expect(existsSync('/etc/last-verified.json')).toBe(false);
  });

  it('answers only to a loopback Host name (a page whose name resolves to 127.0.0.1 cannot read the forms)', async () => {
    const r = await request(server.port, 'GET', '/backups', { headers: { host: `evil.example:${server.port}` } });
    expect(r.status).toBe(421);
    expect(r.body).not.toContain('csrf');
    expect((await request(server.port, 'GET', '/backups', { headers: { host: `localhost:${server.port}` } })).status).toBe(200);
  });

  it('keeps the API read-only and sends a CSP that allows no inline script', async () => {
    const post = await request(server.port, 'POST', '/api/backups', { form: { csrf } });
    expect(post.status).toBe(405);
    const page = await request(server.port, 'GET', '/');
    expect(page.headers['content-security-policy']).toMatch(/default-src 'self'/);
    expect(page.headers['content-security-policy']).toMatch(/script-src 'none'/);
    expect(page.headers['x-frame-options']).toBe('DENY');
    expect(page.body).not.toMatch(/<script/i);
  });

  it('answers methods it has no use for (DELETE, PUT, PATCH) with 405 and Allow, not a CSRF refusal, and changes nothing', async () => {
    const before = fingerprint(p.dir);
    for (const [method, where] of [['DELETE', `/backups/${p.backupId}`], ['PUT', '/'], ['PATCH', '/backups'], ['DELETE', `/runs/${p.backupId}`]] as const) {
      const r = await request(server.port, method, where, { form: { csrf } });
      expect(r.status, `${method} ${where}`).toBe(405);
      expect(r.headers.allow).toBe('GET, HEAD, POST');
      expect(r.body).not.toMatch(/CSRF/);
    }
    expect(fingerprint(p.dir)).toEqual(before);
  });

  it('answers a busy database with 409 and what to do, not a 500, while a guarded run holds it', async () => {
    const held = startCli(['--', 'node', '-e', 'console.log("holding"); setTimeout(() => {}, 9000)'], { cwd: p.dir });
    await new Promise<void>((resolve) => held.stdout.on('data', (d) => String(d).includes('holding') && resolve()));
    const before = (await listOf(p.dir)).length;
    const r = await request(server.port, 'POST', '/backups', { form: { csrf, reason: 'while busy' } });
    expect(r.status).toBe(409);
    expect(r.body).toMatch(/try again/);
    expect(r.body).not.toMatch(/at .*\.js:\d+/);
    await new Promise((resolve) => held.once('exit', resolve));
    expect((await listOf(p.dir)).length).toBe(before); // the refused backup left nothing behind
    const again = await request(server.port, 'POST', '/backups', { form: { csrf, reason: 'after it ended' } });
    expect(again.status).toBe(303);
    expect((await listOf(p.dir)).some((b) => b.reason === 'after it ended')).toBe(true);
  });
});

describe('a dashboard whose operation log became unreadable', () => {
  let p: ReturnType<typeof tempProject>;
  let server: RunningDashboard;
  beforeAll(async () => {
    p = tempProject('safe-run-web-err-');
    server = await startDashboardServer(p.dir);
    writeFileSync(path.join(p.dir, 'logs', 'operations.json'), '{ "version": 1, "runs": [ {"id": ');
  });
  afterAll(async () => {
    await server?.stop();
    p?.cleanup();
  });

  it('answers with one line saying what is wrong and what to do, never a stack trace', async () => {
    for (const where of ['/runs', '/', '/api/runs']) {
      const r = await request(server.port, 'GET', where);
      expect(r.status, where).toBe(500);
      expect(r.body, where).toMatch(/operations\.json/);
      expect(r.body, where).not.toMatch(/\n\s+at |\.js:\d+:\d+|\.ts:\d+:\d+/);
    }
    expect(JSON.parse((await request(server.port, 'GET', '/api/runs')).body).error).toMatch(/operations\.json/);
  });
});

/** The fields a browser sends with the form `id` on the page (its hidden inputs), plus what the user typed. */
function formOf(pageHtml: string, id: string, typed: Record<string, string>): Record<string, string> {
  const form = new RegExp(`<form[^>]*id="${id}"[\\s\\S]*?</form>`).exec(pageHtml)?.[0];
  if (!form) throw new Error(`no form #${id} on the page`);
  const fields: Record<string, string> = {};
  for (const m of form.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)"/g)) fields[m[1]!] = m[2]!;
  return { ...fields, ...typed };
}

describe('a restore from a preview that is no longer true', () => {
  let p: Awaited<ReturnType<typeof projectWithBackup>>;
  let server: RunningDashboard;
  beforeAll(async () => {
    p = await projectWithBackup();
    server = await startDashboardServer(p.dir);
  });
  afterAll(async () => {
    await server?.stop();
    p?.cleanup();
  });

  it('restores once when the form is sent twice (a double click): the second is refused with 409 and restores nothing again', async () => {
    const preview = await request(server.port, 'GET', `/backups/${p.backupId}/restore`);
    expect(preview.status).toBe(200);
    const form = formOf(preview.body, 'restore-form', { confirm: 'app' });
    const answers = await Promise.all([1, 2].map(() => request(server.port, 'POST', `/backups/${p.backupId}/restore`, { form })));
    expect(answers.map((a) => a.status).sort()).toEqual([303, 409]);
    const refused = answers.find((a) => a.status === 409)!;
    expect(refused.body).toMatch(/app changed since this preview was opened/);
    expect(refused.body).toMatch(/nothing was done/i);
    // One restore in the log: the undo command of the newest restore still leads back to before it.
    expect(logOf(p.dir).filter((r) => r.kind === 'restore')).toHaveLength(1);
  });

  it('refuses a restore whose preview was opened before a guarded run changed the database, and changes nothing', async () => {
    const preview = await request(server.port, 'GET', `/backups/${p.backupId}/restore`);
    const form = formOf(preview.body, 'restore-form', { confirm: 'app' });
    const run = await runCli(['--', 'sqlite3', 'data/app.db', 'DELETE FROM users WHERE id > 20'], { cwd: p.dir });
    expect(run.code, run.stderr).toBe(0);
    const rows = rowsOf(p.dbPath);
    const before = fingerprint(p.dir);
    const r = await request(server.port, 'POST', `/backups/${p.backupId}/restore`, { form });
    expect(r.status).toBe(409);
    expect(r.body).toMatch(/app changed since this preview was opened .*sqlite3/);
    expect(r.body).toMatch(/open the preview again/i);
    expect(rowsOf(p.dbPath)).toEqual(rows);
    expect(fingerprint(p.dir)).toEqual(before);
    // From a fresh preview it goes through.
    const again = await request(server.port, 'GET', `/backups/${p.backupId}/restore`);
    const ok = await request(server.port, 'POST', `/backups/${p.backupId}/restore`, { form: formOf(again.body, 'restore-form', { confirm: 'app' }) });
    expect(ok.status, ok.body).toBe(303);
  });

  it('still restores after a guarded run whose safe-run was killed (its log entry never ended) long before the preview', async () => {
    const run = startCli(['--', 'node', '-e', 'console.log("started"); setTimeout(() => {}, 1500)'], { cwd: p.dir });
    await new Promise<void>((resolve) => run.stdout.on('data', (d) => String(d).includes('started') && resolve()));
    run.kill('SIGKILL'); // its command ends by itself 1.5 s later, and with it the lock; the entry stays open
    await new Promise((r) => setTimeout(r, 2500));
    expect(logOf(p.dir).some((r) => r.kind === 'run' && !r.endedAt)).toBe(true);
    const preview = await request(server.port, 'GET', `/backups/${p.backupId}/restore`);
    const ok = await request(server.port, 'POST', `/backups/${p.backupId}/restore`, { form: formOf(preview.body, 'restore-form', { confirm: 'app' }) });
    expect(ok.status, ok.body).toBe(303);
  });
});
