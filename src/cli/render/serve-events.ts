// Render serve's events: one timestamped line each on stderr, or JSON lines on stdout with --json.
import type { EnvironmentFinding } from '../../core/environment.js';
import type { ServeEvent } from '../../serve/scheduler.js';
import { footprint } from '../../store/manifest.js';
import { paintFor } from './colour.js';
import { duration, size, visible } from './format.js';

export type ServeLine = ServeEvent | { type: 'started'; databases: string[]; schedule: string; dashboard?: string; environment: EnvironmentFinding[] } | { type: 'forced-exit' };

export function serveRenderer(json: boolean): (event: ServeLine) => void {
  if (json) return (event) => process.stdout.write(JSON.stringify({ at: new Date().toISOString(), ...jsonOf(event) }) + '\n');
  const stream = process.stderr;
  const c = paintFor(stream);
  const out = (tag: string, text: string) => stream.write(`${c.dim(new Date().toTimeString().slice(0, 8))} ${tag.padEnd(9)} ${visible(text)}\n`);
  return (event) => {
    switch (event.type) {
      case 'started': {
        const n = event.databases.length;
        out(c.bold('serve'), `${n} database${n === 1 ? '' : 's'} (${event.databases.join(', ')}), backups ${event.schedule}; stop with Ctrl-C or SIGTERM`);
        if (event.dashboard) out(c.bold('dashboard'), event.dashboard);
        for (const f of event.environment) out(f.severity === 'warn' ? c.yellow().bold('WARNING') : 'note', f.message);
        break;
      }
      case 'check':
        out('check', `${event.database}: ${event.state === 'ok' ? c.green('ok') : c.yellow(event.state)}${event.problems.length ? ` (${event.problems.join('; ')})` : ''}`);
        break;
      case 'repaired':
        out(c.green('repaired'), `${event.database}: restored backup ${event.backupId} ("autoRestore"); the damaged files are kept in ${event.damagedFilesIn}`);
        break;
      case 'repair-failed':
        out(c.red().bold('FAILED'), `${event.database}: not repaired: ${event.message}; see safe-run doctor`);
        break;
      case 'backup-start':
        break; // the line comes when it is done: one line per backup
      case 'backup-done': {
        const b = event.backup;
        const pruned = event.pruned ? `; retention removed ${event.pruned}` : '';
        out('backup', `${event.database} ${event.kind}: ${c.green('verified')} ${size(footprint(b))} in ${duration(event.ms)}  ${b.id}${pruned}`);
        break;
      }
      case 'backup-failed':
        out(c.red().bold('FAILED'), `${event.database} ${event.kind} backup: ${event.message}${event.kind === 'shutdown' ? '' : '; tried again at the next tick'}`);
        if (event.hint) out('', `try: ${event.hint}`);
        break;
      case 'tick-skipped':
        out(c.yellow('skipped'), `${event.database} scheduled backup: ${event.reason}`);
        break;
      case 'lock-wait':
        out('waiting', `${event.database} is locked by ${event.holder}; waiting up to ${Math.round(event.waitMs / 1000)} s`);
        break;
      case 'next-tick':
        break; // every tick would print one; the dashboard and --json show it
      case 'stopping':
        out(c.bold('stopping'), 'taking the shutdown backups (a second signal exits at once)');
        break;
      case 'stopped':
        out(c.bold('stopped'), 'done');
        break;
      case 'forced-exit':
        out(c.red().bold('exit'), 'second signal: stopped without the remaining shutdown backups (nothing partial is kept)');
        break;
    }
  };
}

/** The event for a JSON line: a backup as its id, kind, size and sha256 rather than the whole manifest. */
function jsonOf(event: ServeLine): object {
  if (event.type !== 'backup-done') return event;
  const { backup, ...rest } = event;
  return { ...rest, backup: { id: backup.id, kind: backup.kind, size: backup.size, sha256: backup.sha256, createdAt: backup.createdAt } };
}
