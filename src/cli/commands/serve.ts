// safe-run serve: scheduled backups of every configured database (startup, every N or cron, shutdown)
// in the foreground, with the dashboard beside them.
import { selectDatabases } from '../../config.js';
import { backupsSwitchedOff, refuseWhileOff } from '../../core/backups-switch.js';
import { examineEnvironment } from '../../core/environment.js';
import { redactArgv } from '../../core/redact.js';
import { errnoOf, SafeRunError } from '../../errors.js';
import { isLoopbackHost } from '../../serve/loopback.js';
import { cronSchedule, everySchedule, parseInterval, type Schedule } from '../../serve/schedule.js';
import { Scheduler } from '../../serve/scheduler.js';
import { lockServe } from '../../serve/serve-lock.js';
import { many, parse } from '../args.js';
import { COMMAND_OPTIONS } from '../options.js';
import { serveRenderer } from '../render/serve-events.js';
import { contextFrom } from '../setup.js';
import type { Config } from '../../config.js';

export const help = `safe-run serve — scheduled backups and the dashboard, in the foreground

Usage: safe-run serve [--every INTERVAL] [--port N] [--host ADDR] [--token T]

For every configured database: the doctor check and a backup at start (kind
startup), one at every tick (scheduled), one on SIGTERM, Ctrl-C or SIGHUP
(shutdown), then exit 0. Backups are verified, logged, and followed by the
config's retention (with "auto"), as with safe-run backup. A failed backup is
logged and tried again at the next tick; a tick that finds the database's
previous backup still running is skipped and said so.

  --every INTERVAL  back up every INTERVAL: 30s, 15m, 12h, 1d, up to 366d
                    (default: the config's schedule.every or schedule.cron,
                    else 12h)
  --db NAME|PATH    only these databases (repeatable; default: the config's)
  --port N          the dashboard's port (default 7171; 0: any free one)
  --host ADDR       the dashboard's address (default 127.0.0.1); any other
                    than loopback needs a token
  --token TOKEN     every request to the dashboard must carry it (default:
                    $SAFE_RUN_TOKEN)
  --no-dashboard    back up on schedule only, serve no page
  --json            print events as JSON lines on stdout
  --config PATH     use this config file

A second signal exits at once (exit 130): a backup cut short is never kept.
Refused while backups are switched off (SAFE_RUN_DISABLE=1 or "enabled":
false in the config).
Exit codes: 0 stopped by a signal after the shutdown backups, 2 usage or
config (also: backups switched off, no token on a non-loopback --host, the
port in use), 5 another safe-run serve already backs up one of these
databases, 130 stopped by a second signal.`;

const OPTIONS = COMMAND_OPTIONS.serve;

/**
 * The signals that stop serve gracefully. SIGHUP too: a closed terminal or ssh session sends it, and by
 * default it killed serve at once, without its shutdown backups and cutting short a backup under way.
 */
const STOP_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

/** How long a stop waits for the dashboard's requests under way before the shutdown backups. */
const DASHBOARD_GRACE_MS = 60_000;

export async function run(args: string[]): Promise<number> {
  // Every local user can read a long-running process's command line (ps -ef): a --token or a URL
  // password given there is masked as soon as serve starts (SAFE_RUN_TOKEN and the config never show).
  process.title = ['safe-run', ...maskSecrets(process.argv.slice(2))].join(' ');
  const { values, positionals } = parse(args, OPTIONS, 'serve');
  if (positionals.length > 0) throw new SafeRunError('usage', `serve: unexpected "${positionals[0]}"`, { hint: 'see: safe-run serve --help' });
  // An IPv6 address may come in brackets, as serve prints it ([::1]): listening takes it bare.
  const host = (values.host ?? '127.0.0.1').trim().replace(/^\[(.*)\]$/, '$1');
  // Digits only: Number() took "" as 0 (a random port), "1e3" as 1000 and "0x1F" as 31.
  const port = values.port === undefined ? 7171 : /^\d{1,5}$/.test(values.port) ? Number(values.port) : Number.NaN;
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new SafeRunError('usage', `serve: --port takes a port number (0-65535), not "${values.port}"`, { hint: 'e.g. --port 7171' });
  }
  const token = tokenFrom(values.token);
  const dashboard = !values['no-dashboard'];
  if (dashboard && !token && !isLoopbackHost(host)) {
    throw new SafeRunError('usage', `serve: --host ${host} can be reached from other machines; refusing to serve the dashboard there without a token`, {
      hint: 'pass --token TOKEN or set SAFE_RUN_TOKEN (or keep the default --host 127.0.0.1)',
    });
  }
  const ctx = contextFrom(values);
  const off = backupsSwitchedOff(ctx.config);
  if (off) throw refuseWhileOff('serve', off);
  const schedule = scheduleFrom(values.every, ctx.config);
  // A database named twice (--db app --db data/app.db) is served once: twice, its serve lock refused itself.
  const databases = selectDatabases(ctx.config, ctx.cwd, many(values.db)).filter((d, i, all) => all.findIndex((x) => x.url === d.url) === i);
  if (databases.length === 0) {
    throw new SafeRunError('config', 'serve: no database to back up', { hint: `add "databases" to ${ctx.config.file ?? 'safe-run.config.json'}, or name one with --db PATH` });
  }
  const serveLock = await lockServe(ctx.store.root, databases.map((d) => d.name));
  const environment = await examineEnvironment({ storeDir: ctx.store.root, logFile: ctx.config.logFile });
  const render = serveRenderer(Boolean(values.json));
  const scheduler = new Scheduler({ ctx, databases, schedule, environment, onEvent: render });

  let web: { url: string; close(): Promise<void> } | undefined;
  if (dashboard) {
    const { startDashboard } = await import('../../web/server.js');
    web = await startDashboard({
      host,
      port,
      token,
      cwd: ctx.cwd,
      configPath: ctx.explicitConfig,
      status: () => scheduler.status,
      onBackupTaken: () => void scheduler.refreshBackups(),
    }).catch((err: unknown) => {
      const code = errnoOf(err);
      const [why, hint] =
        code === 'EADDRINUSE'
          ? ['the port is in use', 'choose another --port, or stop what listens there']
          : code === 'EACCES'
            ? ['ports below 1024 need privileges (root or CAP_NET_BIND_SERVICE)', 'choose a higher port, e.g. --port 7171']
            : code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND'
              ? ['not an address of this machine', 'give an address of this machine with --host']
              : [(err as Error).message, 'check --host and --port'];
      throw new SafeRunError('usage', `serve: cannot listen on ${host}:${port}: ${why}`, { hint, cause: err });
    });
  }

  return new Promise<number>((resolve) => {
    let signals = 0;
    const onSignal = () => {
      signals++;
      if (signals > 1) {
        // Whatever backup is under way is left in its temp directory, which no listing shows and the
        // next safe-run clears (its writer's lock is gone): nothing partial is ever registered.
        render({ type: 'forced-exit' });
        process.exit(130);
      }
      // The dashboard first takes no new request and lets those under way finish (a restore from the page,
      // a manual backup: they hold the database's lock), for up to a minute: then the shutdown backups.
      const dashboardClosed = web?.close();
      const settled = dashboardClosed && Promise.race([dashboardClosed, new Promise((r) => setTimeout(r, DASHBOARD_GRACE_MS).unref())]);
      void scheduler
        .stop(settled)
        .then(() => settled)
        .then(() => serveLock.release())
        .then(() => {
          for (const sig of STOP_SIGNALS) process.off(sig, onSignal);
          // A handle some library keeps open must not keep a stopped server alive.
          setTimeout(() => process.exit(0), 2000).unref();
          resolve(0);
        });
    };
    for (const sig of STOP_SIGNALS) process.on(sig, onSignal);
    // After a SIGHUP the terminal may be gone: a line that cannot be written must not stop the shutdown backups.
    for (const stream of [process.stdout, process.stderr]) stream.on('error', () => undefined);
    render({ type: 'started', databases: databases.map((d) => d.name), schedule: schedule.description, dashboard: web?.url, environment });
    void scheduler.start();
  });
}

/** argv with the value of --token and every URL password replaced by "***". */
function maskSecrets(argv: string[]): string[] {
  return redactArgv(argv.map((arg, i) => (argv[i - 1] === '--token' ? '***' : arg.startsWith('--token=') ? '--token=***' : arg)));
}

/**
 * --token, else $SAFE_RUN_TOKEN (empty there means unset), without the spaces or newline around it that
 * a token read from a file brings (a bearer header is read trimmed, so such a token could never match).
 * A blank --token is refused: `--token "$UNSET_VARIABLE"` would otherwise serve with no token at all.
 */
function tokenFrom(option: string | undefined): string | undefined {
  const token = (option ?? process.env.SAFE_RUN_TOKEN)?.trim();
  if (option !== undefined && !token) {
    throw new SafeRunError('usage', 'serve: --token is blank, so it would protect nothing', { hint: 'give the token itself (better: in SAFE_RUN_TOKEN), or leave --token out on 127.0.0.1' });
  }
  return token || undefined;
}

/** --every wins; then the config's schedule (cron or every); then every 12h. */
function scheduleFrom(every: string | undefined, config: Config): Schedule {
  if (every !== undefined) {
    const ms = parseInterval(every);
    if (ms === undefined) throw new SafeRunError('usage', `serve: --every takes an interval from a second to a year such as 30s, 15m, 12h or 1d, not "${every}"`, { hint: 'e.g. --every 6h' });
    return everySchedule(ms, every);
  }
  if (config.schedule?.cron) return cronSchedule(config.schedule.cron);
  if (config.schedule?.every) return everySchedule(config.schedule.every.ms, config.schedule.every.text);
  return everySchedule(parseInterval('12h')!, '12h');
}
