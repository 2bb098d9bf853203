// The dashboard in a real browser (Debian's chromium, driven by playwright-core) against the real
// `safe-run serve`: a manual backup from the page, then a restore through the preview and the typed
// confirmation, checked in the database file. JavaScript is off: the pages must work without it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { ROOT, rowsOf, tempProject } from './helpers/cli.js';
import { startDashboardServer, type RunningDashboard } from './helpers/dashboard.js';
import { listOf, logOf } from './helpers/store.js';

const CHROMIUM = '/usr/bin/chromium';
// Under CI the browser test must run (.ci/run installs chromium); elsewhere it is skipped without one.
const skip = !existsSync(CHROMIUM) && !process.env.CI;

describe.skipIf(skip)('the dashboard in a browser', () => {
  let p: ReturnType<typeof tempProject>;
  let server: RunningDashboard;
  let browser: Browser;
  beforeAll(async () => {
    p = tempProject('safe-run-web-browser-');
    server = await startDashboardServer(p.dir);
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox'] });
  });
  afterAll(async () => {
    await browser?.close();
    await server?.stop();
    p?.cleanup();
  });

  it('takes a manual backup with a reason, lists it, and restores it through the preview and the typed name', async () => {
    const context = await browser.newContext({ javaScriptEnabled: false });
    const page = await context.newPage();
    await page.goto(server.url);

    // The manual backup, from the first page's form.
    const atBackup = rowsOf(p.dbPath);
    await page.fill('#backup-form input[name=reason]', 'before the price change');
    await Promise.all([page.waitForURL(/\/backups\?taken=/), page.click('#backup-form button')]);
    await expect.poll(() => page.textContent('.notice')).toMatch(/Backed up app \(backup [0-9a-f]{8}\)/);
    const row = page.locator('#backups tr', { hasText: 'before the price change' });
    await expect.poll(() => row.count()).toBe(1);
    const backupId = await row.getAttribute('data-backup');
    expect(await row.textContent()).toMatch(/manual/);
    expect(await row.textContent()).toMatch(/verified/);
    const stored = (await listOf(p.dir)).find((b) => b.id === backupId);
    expect(stored?.reason).toBe('before the price change');
    expect(stored?.kind).toBe('manual');

    // The database changes after the backup.
    const db = new Database(p.dbPath);
    db.exec('DELETE FROM users WHERE id > 10; UPDATE users SET balance = 0 WHERE id <= 3');
    db.close();
    expect(rowsOf(p.dbPath)).not.toEqual(atBackup);

    // The preview says what the restore will change; a wrong name changes nothing.
    await Promise.all([page.waitForURL(new RegExp(`/backups/${backupId}/restore$`)), row.locator('a', { hasText: 'Restore' }).click()]);
    const preview = await page.textContent('#preview');
    expect(preview).toMatch(/users \+90 ~3/);
    const afterChange = rowsOf(p.dbPath);
    await page.fill('#restore-form input[name=confirm]', 'ap');
    await page.click('#restore-form button');
    expect(await page.textContent('h1')).toBe('Not confirmed');
    expect(rowsOf(p.dbPath)).toEqual(afterChange);

    // Typed exactly: the core restore, with its safety backup and the command that undoes it.
    await page.goBack();
    await page.fill('#restore-form input[name=confirm]', 'app');
    await Promise.all([page.waitForURL(/\/runs\/[0-9a-f]+\?restored=/), page.click('#restore-form button')]);
    expect(await page.textContent('.notice')).toMatch(/Restored app to backup/);
    expect(await page.textContent('#changes')).toMatch(/users \+90 ~3/); // what the restore put back
    expect(await page.textContent('#undo')).toMatch(/^safe-run -C .* rollback [0-9a-f]+$/);
    expect(rowsOf(p.dbPath)).toEqual(atBackup);
    const restore = logOf(p.dir).find((r) => r.kind === 'restore');
    expect(restore?.status).toBe('succeeded');
    expect(restore?.restored?.[0]?.backupId).toBe(backupId);
    expect((await listOf(p.dir)).some((b) => b.kind === 'pre-restore' && b.runId === restore?.id)).toBe(true);
    await context.close();
  });

  it('fits a phone: no page is wider than the screen; saves a screenshot of the dashboard', async () => {
    const context = await browser.newContext({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2 });
    const page = await context.newPage();
    for (const where of ['', 'runs', 'backups', 'health']) {
      await page.goto(server.url + where);
      expect(await page.locator('meta[name=viewport][content*="width=device-width"]').count()).toBe(1);
      const widths = await page.evaluate(() => ({ page: document.documentElement.scrollWidth, screen: window.innerWidth }));
      expect(widths.page, `/${where}`).toBeLessThanOrEqual(widths.screen);
    }
    await page.goto(server.url);
    const shot = path.join(ROOT, 'test-results', 'dashboard.png');
    mkdirSync(path.dirname(shot), { recursive: true });
    await page.screenshot({ path: shot, fullPage: true });
    console.log(`dashboard screenshot: ${shot}`);
    expect(existsSync(shot)).toBe(true);
    await context.close();
  });
});
