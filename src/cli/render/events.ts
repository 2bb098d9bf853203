// Render the core's events as calm one-line steps on stderr, with a ticking timer on a terminal.
import type { GuardEvent } from '../../core/events.js';
import { paintFor } from './colour.js';
import { checkLabel } from './backup-state.js';
import { shellJoin } from '../../core/shell-quote.js';
import { secondsText } from '../../core/seconds.js';
import { clip, duration, shortPath, size, visible } from './format.js';

/** Width of the rules that frame the command's own output. */
const RULE = 72;

export interface EventRenderer {
  (event: GuardEvent): void;
  /** Stop any ticker (before printing an error). */
  stop(): void;
}

export function eventRenderer(cwd: string, stream: NodeJS.WriteStream = process.stderr): EventRenderer {
  const c = paintFor(stream);
  const tty = Boolean(stream.isTTY);
  let ticker: NodeJS.Timeout | undefined;
  let pendingLine = '';
  const startStep = (text: string) => {
    pendingLine = text;
    if (!tty) return;
    stream.write(`${text} …`);
    const t0 = Date.now();
    ticker = setInterval(() => stream.write(`\r${text} … ${((Date.now() - t0) / 1000).toFixed(0)} s`), 1000);
    ticker.unref();
  };
  const endStep = (tail: string) => {
    if (ticker) clearInterval(ticker);
    ticker = undefined;
    stream.write(`${tty ? '\r\x1b[K' : ''}${pendingLine} … ${tail}\n`);
    pendingLine = '';
  };
  const label = c.bold('safe-run');
  const render = ((event: GuardEvent) => {
    switch (event.type) {
      case 'lock-wait': {
        const h = event.holder;
        // A server-side lock has no local pid (0): its purpose then describes the holder's connection.
        const who = h ? (h.pid ? `pid ${h.pid} (${h.purpose})` : h.purpose) : 'another process';
        stream.write(`${label}  ${event.database} is locked by ${who}; waiting up to ${secondsText(event.waitMs)}\n`);
        break;
      }
      case 'busy-wait': {
        // Mid-step on a terminal: end the ticking line first, then start it again below.
        const step = pendingLine;
        if (ticker) clearInterval(ticker);
        ticker = undefined;
        if (step && tty) stream.write('\r\x1b[K');
        stream.write(`${label}  ${event.database} is locked for writing by another process; waiting up to ${Math.round(event.waitMs / 1000)} s\n`);
        if (step) startStep(step);
        break;
      }
      case 'backup-start': {
        const what = event.kind === 'pre-restore' ? `safety backup of ${event.database}` : `backing up ${event.database}`;
        startStep(`${label}  ${what} (${visible(shortPath(event.location, cwd))}, ${size(event.size)})`);
        break;
      }
      case 'backup-done': {
        const b = event.backup;
        const sha = `${b.sha256.slice(0, 4)}…${b.sha256.slice(-4)}`;
        endStep(`${c.green('verified')} in ${duration(event.ms)}  [sha256 ${sha}, ${checkLabel(b.facts)}]`);
        // An engine that chose another way than usual says why (PostgreSQL dumps when it cannot clone).
        const why = /\(([^)]*not possible[^]*)\)$/.exec(b.facts.strategy ?? '')?.[1];
        if (why) stream.write(`          ${c.dim(clip(visible(why), 68))}\n`);
        break;
      }
      case 'restore-start':
        startStep(`${label}  restoring ${event.database} from ${event.backupId.slice(0, 8)} (${size(event.size)})`);
        break;
      case 'restore-verified':
        endStep(`copy ${c.green('verified')} in ${duration(event.ms)}`);
        break;
      case 'safety-kept': {
        const how = event.how === 'link' ? 'the file itself, no copy' : event.how === 'rename' ? 'renamed aside on its server, no copy' : 'a copy';
        const state = event.verified ? c.green('verified') : c.yellow(`kept, but it fails its check (${event.backup.facts.check.result})`);
        stream.write(`${label}  ${event.database} as it was is kept as backup ${event.backup.id.slice(0, 8)} (${how}), ${state}\n`);
        break;
      }
      case 'restore-done': {
        const how = event.method === 'backup-api' ? ` through SQLite's backup API (held open by ${event.heldBy.join(', ') || 'another process'})` : '';
        stream.write(`${label}  ${event.database} ${c.green('restored')} in ${duration(event.ms)}${how}\n`);
        if (event.replacedLink) {
          stream.write(
            `${' '.repeat('safe-run'.length)}  ${shortPath(event.target, cwd)} was a symbolic link to ${shortPath(event.replacedLink, cwd)}, made after the backup: the link was replaced, its target was not touched\n`,
          );
        }
        break;
      }
      case 'auto-prune': {
        if (event.error) {
          stream.write(`${label}  ${c.yellow('warning')}: automatic retention did not run: ${visible(event.error)}\n`);
          break;
        }
        const dbs = [...new Set(event.removed.map((b) => b.database))].join(', ');
        const bytes = event.removed.reduce((n, b) => n + b.size, 0);
        const n = event.removed.length;
        stream.write(`${label}  pruned ${n} old backup${n === 1 ? '' : 's'} of ${dbs} (${size(bytes)}, the config's retention)\n`);
        break;
      }
      case 'backup-skipped': {
        // Loud on purpose: the one way a guarded command runs without a backup.
        const warn = c.red().bold('WARNING');
        stream.write(`${label}  ${warn}: NO BACKUP of ${event.databases.join(', ')}: backups are switched off (${visible(event.reason)})\n`);
        stream.write(`          this run cannot be rolled back; the log records that its backup was skipped\n`);
        break;
      }
      case 'command-start': {
        const cmd = clip(shellJoin(event.argv), RULE - 8);
        stream.write(c.dim(`── ${cmd} ${'─'.repeat(Math.max(3, RULE - 4 - cmd.length))}`) + '\n');
        break;
      }
      case 'command-end': {
        const status = event.signal ? c.red(`killed by ${event.signal}`) : event.exitCode === 0 ? c.green('exit 0') : c.red(`exit ${event.exitCode}`);
        const plain = `${event.signal ? `killed by ${event.signal}` : `exit ${event.exitCode}`} in ${duration(event.ms)}`;
        stream.write(`${c.dim('──')} ${status} ${c.dim(`in ${duration(event.ms)} ${'─'.repeat(Math.max(3, RULE - 4 - plain.length))}`)}\n`);
        break;
      }
    }
  }) as EventRenderer;
  render.stop = () => {
    if (ticker) clearInterval(ticker);
    if (pendingLine && tty) stream.write('\n');
    ticker = undefined;
    pendingLine = '';
  };
  return render;
}
