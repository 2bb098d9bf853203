// The dashboard's routes (hono): pages, the forms' actions, and the read-only JSON API under /api/.
import { Hono, type Context as HonoContext } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { secureHeaders } from 'hono/secure-headers';
import type { Context } from '../core/context.js';
import { when } from '../cli/render/format.js';
import { describeRun, isFailure } from '../cli/render/run-summary.js';
import { describeCause, SafeRunError } from '../errors.js';
import { shortId } from '../ids.js';
import type { RunRecord } from '../oplog/run-record.js';
import type { ServeStatus } from '../serve/status.js';
import { csrfToken, requireLoopbackHost, requireToken, sameSecret } from './access.js';
import { previewRestore, restoreFromDashboard, takeManualBackup, verifyBackup } from './actions.js';
import { backupRows, backupsJson, backupStats, changeSince, diffLines, findBackup, findRun, healthJson, recentRuns, runsJson } from './dashboard-data.js';
import { CONTENT_SECURITY_POLICY, page, type Html, type Notice } from './layout.js';
import { backupsPage } from './pages/backups.js';
import { healthPage } from './pages/health.js';
import { homePage } from './pages/home.js';
import { messagePage } from './pages/message.js';
import { restorePreviewPage } from './pages/restore.js';
import { runPage } from './pages/run.js';
import { runsPage } from './pages/runs.js';

export interface DashboardApp {
  ctx: Context;
  status(): ServeStatus;
  /** Every request needs it when set. */
  token?: string;
  /** Answer only to loopback Host names (a loopback bind without a token). */
  loopbackOnly: boolean;
  /** Per-server secret the forms' CSRF token is derived from. */
  csrfSecret: Buffer;
  onBackupTaken?(): void;
  /** Where an unexpected error is reported (the page only says that one happened). */
  report?(line: string): void;
}

/** `?limit=N` of the runs page and API: 100 by default, at most 5,000. */
function limitOf(c: HonoContext): number {
  return Math.min(Math.max(Number.parseInt(c.req.query('limit') ?? '', 10) || 100, 1), 5_000);
}

export function createDashboardApp(o: DashboardApp): Hono {
  const { ctx } = o;
  const csrf = csrfToken(o.csrfSecret);
  const databases = ctx.config.databases.map((d) => d.name);
  const app = new Hono();
  let restoring: Promise<unknown> = Promise.resolve();
  const oneRestoreAtATime = <T>(task: () => Promise<T>): Promise<T> => {
    const result = restoring.then(task);
    restoring = result.catch(() => undefined);
    return result;
  };

  app.use('*', secureHeaders({ referrerPolicy: 'no-referrer', xFrameOptions: 'DENY', strictTransportSecurity: false }));
  app.use('*', async (c, next) => {
    await next();
    c.header('Content-Security-Policy', CONTENT_SECURITY_POLICY);
    c.header('Cache-Control', 'no-store');
  });
  app.use('*', requireLoopbackHost(o.loopbackOnly));
  app.use('*', requireToken(o.token, o.csrfSecret));
  app.use('/api/*', async (c, next) => {
    if (c.req.method !== 'GET' && c.req.method !== 'HEAD') return c.json({ error: 'the API is read-only: GET only' }, 405, { Allow: 'GET, HEAD' });
    return next();
  });
  // Pages are read with GET and forms sent with POST: anything else is answered as such, not as a form.
  app.use('*', async (c, next) => {
    if (['GET', 'HEAD', 'POST'].includes(c.req.method)) return next();
    return c.text(`405 Method Not Allowed: the dashboard takes GET and POST, not ${c.req.method}\n`, 405, { Allow: 'GET, HEAD, POST' });
  });
  // Every form: a small body, and the CSRF token of this server, or nothing is done.
  const smallBody = bodyLimit({ maxSize: 64 * 1024, onError: (c) => c.text('413 the form is too large\n', 413) });
  app.use('*', async (c, next) => (c.req.method === 'GET' || c.req.method === 'HEAD' ? next() : smallBody(c, next)));
  app.use('*', async (c, next) => {
    if (c.req.method === 'GET' || c.req.method === 'HEAD') return next();
    const form = await c.req.parseBody().catch(() => ({}) as Record<string, unknown>);
    const given = form['csrf'];
    if (typeof given !== 'string' || !sameSecret(given, csrf)) {
      return htmlPage(c, 'Refused', messagePage('Refused', "This form did not carry this server's token (CSRF), so nothing was done.", 'Open the page again and send the form from there.'), 403);
    }
    await next();
  });

  // ---- pages
  app.get('/', async (c) => {
    const [runs, rows] = await Promise.all([recentRuns(ctx, 10), backupRows(ctx)]);
    return htmlPage(c, 'Dashboard', homePage(o.status(), backupStats(rows), runs.runs, csrf, databases), 200, takenNotice(c.req.query('taken'), rows));
  });
  app.get('/runs', async (c) => {
    const { runs, total } = await recentRuns(ctx, limitOf(c));
    return htmlPage(c, 'Runs', runsPage(runs, total));
  });
  app.get('/runs/:id', async (c) => {
    const record = await findRun(ctx, c.req.param('id'));
    if (!record) return notFound(c, 'run');
    const rows = new Map((await backupRows(ctx)).map((r) => [r.backup.id, r]));
    const view = {
      row: { record, command: describeRun(record), failed: isFailure(record) },
      backups: record.backups.map((ref) => ({ ref, stored: rows.get(ref.id) })),
      changes: await diffLines(ctx, record),
    };
    return htmlPage(c, `Run ${shortId(record.id)}`, runPage(view), 200, restoredNotice(record, c.req.query('restored')));
  });
  app.get('/backups', async (c) => {
    const rows = await backupRows(ctx);
    const notice = takenNotice(c.req.query('taken'), rows) ?? verifiedNotice(c.req.query('verified'), rows);
    return htmlPage(c, 'Backups', backupsPage(rows, backupStats(rows), csrf, databases), 200, notice);
  });
  app.get('/health', (c) => htmlPage(c, 'Health', healthPage(o.status())));
  app.get('/backups/:id/restore', async (c) => {
    const backup = await findBackup(ctx, c.req.param('id'));
    if (!backup) return notFound(c, 'backup');
    const previewedAt = new Date().toISOString(); // before the preview is read: a change during it counts
    const { preview, safety } = await previewRestore(ctx, backup);
    return htmlPage(c, `Restore ${backup.database}`, restorePreviewPage({ backup, cwd: ctx.cwd, preview, safety, csrf, previewedAt }));
  });

  // ---- actions (POST, CSRF checked above)
  app.post('/backups', async (c) => {
    const form = await c.req.parseBody();
    const reason = typeof form['reason'] === 'string' ? form['reason'].trim() : '';
    if (!reason) return htmlPage(c, 'No reason', messagePage('No reason given', 'A manual backup needs a reason, kept beside it: nothing was backed up.', 'Go back and say why, e.g. "before the release".'), 400);
    const backups = await takeManualBackup(ctx, reason);
    o.onBackupTaken?.();
    return c.redirect(`/backups?taken=${backups.map((b) => b.id).join(',')}`, 303);
  });
  app.post('/backups/:id/verify', async (c) => {
    const backup = await findBackup(ctx, c.req.param('id'));
    if (!backup) return notFound(c, 'backup');
    await verifyBackup(ctx, backup);
    return c.redirect(`/backups?verified=${backup.id}#b-${backup.id}`, 303);
  });
  app.post('/backups/:id/restore', async (c) => {
    const backup = await findBackup(ctx, c.req.param('id'));
    if (!backup) return notFound(c, 'backup');
    const form = await c.req.parseBody();
    const typed = typeof form['confirm'] === 'string' ? form['confirm'].trim() : '';
    if (typed !== backup.database) {
      return htmlPage(
        c,
        'Not confirmed',
        messagePage('Not confirmed', `To restore, type the database's name "${backup.database}" exactly${typed ? ` (not "${typed}")` : ''}. Nothing was changed.`, 'Go back to the preview and type the name.'),
        400,
      );
    }
    const previewed = typeof form['previewed'] === 'string' ? Date.parse(form['previewed']) : Number.NaN;
    if (Number.isNaN(previewed)) {
      return htmlPage(c, 'Not confirmed', messagePage('Not confirmed', 'This form did not come from the restore preview, so nothing was changed.', 'Open the preview of the backup and restore from there.'), 400);
    }
    // One restore at a time, each checking that its preview still holds: a double click, or a preview
    // left open while a run or another restore changed the database, would otherwise restore again, and
    // the newest restore's undo would then lead back to the first restore's result, not to before it.
    const outcome = await oneRestoreAtATime(async () => {
      const changed = await changeSince(ctx, backup.database, previewed);
      return changed ? { changed, record: undefined } : { changed: undefined, record: await restoreFromDashboard(ctx, backup) };
    });
    if (outcome.changed) {
      const { record: r, command } = outcome.changed;
      return htmlPage(
        c,
        'Not done',
        messagePage('Not done', `${backup.database} changed since this preview was opened (${command}, run ${shortId(r.id)}, ${when(r.endedAt ?? r.startedAt)}): nothing was done.`, 'Open the preview again to see what a restore would change now.'),
        409,
      );
    }
    const record = outcome.record!;
    if (record.backups.length > 0) o.onBackupTaken?.(); // its safety backup is the database's newest
    // To the restore's own page (with the command that undoes it): reloading it restores nothing again.
    return c.redirect(`/runs/${record.id}?restored=${backup.id}`, 303);
  });

  // ---- the JSON API: the same data as the pages
  app.get('/api/runs', async (c) => {
    const { runs, total } = await recentRuns(ctx, limitOf(c));
    return c.json({ total, runs: runsJson(runs) });
  });
  app.get('/api/backups', async (c) => c.json(backupsJson(await backupRows(ctx))));
  app.get('/api/stats', async (c) => c.json(backupStats(await backupRows(ctx))));
  app.get('/api/health', (c) => c.json(healthJson(o.status())));

  app.notFound((c) => (c.req.path.startsWith('/api/') ? c.json({ error: 'not found' }, 404) : htmlPage(c, 'Not found', messagePage('Not found', 'There is no such page.'), 404)));
  app.onError((err, c) => errorResponse(c, err, o.report));
  return app;
}

function htmlPage(c: HonoContext, title: string, body: Html, status: 200 | 400 | 403 | 404 | 409 | 500 = 200, notice?: Notice) {
  return c.html(page(title, body, notice), status);
}

function notFound(c: HonoContext, what: 'run' | 'backup') {
  const where = what === 'run' ? 'the operation log' : 'the backup store';
  return htmlPage(c, 'Not found', messagePage('Not found', `No ${what} with this id is in ${where}; nothing was done.`, `See the ${what}s on the ${what === 'run' ? 'Runs' : 'Backups'} page.`), 404);
}

/** The notice after a manual backup: which backups were taken (ids looked up in the listing). */
function takenNotice(ids: string | undefined, rows: Array<{ backup: { id: string; database: string } }>): Notice | undefined {
  if (!ids) return undefined;
  const taken = ids.split(',').flatMap((id) => rows.filter((r) => r.backup.id === id));
  if (taken.length === 0) return undefined;
  return { text: `Backed up ${taken.map((r) => `${r.backup.database} (backup ${shortId(r.backup.id)})`).join(', ')}: verified and in the store.` };
}

/** After a restore from the page: which database went back to which backup (as the log records it). */
function restoredNotice(record: RunRecord, backupId: string | undefined): Notice | undefined {
  const done = record.restored?.find((r) => r.backupId === backupId);
  if (!done || record.status !== 'succeeded') return undefined;
  return { text: `Restored ${done.database} to backup ${shortId(done.backupId)}. A safety backup of it as it was is in the store; the command below undoes this restore.` };
}

function verifiedNotice(id: string | undefined, rows: Array<{ backup: { id: string; database: string }; lastVerified?: { ok: boolean; problems: string[] } }>): Notice | undefined {
  const r = id ? rows.find((x) => x.backup.id === id) : undefined;
  if (!r?.lastVerified) return undefined;
  const name = `backup ${shortId(r.backup.id)} of ${r.backup.database}`;
  return r.lastVerified.ok ? { text: `Verified ${name}: its files hash as recorded and its check passed.` } : { text: `${name} failed its re-check: ${r.lastVerified.problems.join('; ')}`, error: true };
}

/**
 * An error as one message and what to do, never a stack: a busy database is 409 (try again), a refusal
 * 400, anything else 500 with safe-run's own one-line message, or only "unexpected" for a foreign error.
 */
function errorResponse(c: HonoContext, err: Error, report?: (line: string) => void) {
  const api = c.req.path.startsWith('/api/');
  if (err instanceof SafeRunError) {
    const status = err.kind === 'locked' ? 409 : err.kind === 'usage' || err.kind === 'config' ? 400 : 500;
    if (api) return c.json({ error: err.message, hint: err.hint ?? null }, status);
    const title = err.kind === 'locked' ? 'Busy' : c.req.method === 'POST' ? 'Not done' : 'Cannot show this page';
    const hint = err.kind === 'locked' ? `${err.hint ? `${err.hint}. ` : ''}Another backup or run is using it; try again in a moment.` : err.hint;
    return htmlPage(c, title, messagePage(title, err.message, hint), status);
  }
  report?.(`safe-run serve: ${c.req.method} ${c.req.path}: ${describeCause(err)}`);
  if (api) return c.json({ error: 'unexpected error; see the server\'s output' }, 500);
  return htmlPage(c, 'Error', messagePage('Something went wrong', 'An unexpected error stopped this request; the server\'s output says more.'), 500);
}
