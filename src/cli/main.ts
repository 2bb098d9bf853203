// The CLI entry: find the command, run it, turn errors into one line, a hint, and an exit code.
import { exitCodeFor, RUN_EXIT, SafeRunError } from '../errors.js';
import { valueOptions } from './options.js';
import { ignoreClosedOutput } from './closed-output.js';
import { paintFor } from './render/colour.js';
import { visible } from './render/format.js';
import { startKeeperEarly } from '../lock/keeper-process.js';

export interface CommandModule {
  help: string;
  run(args: string[], command: string[]): Promise<number>;
}

const COMMANDS: Record<string, () => Promise<CommandModule>> = {
  run: () => import('./commands/run.js'),
  backup: () => import('./commands/backup.js'),
  rollback: () => import('./commands/rollback.js'),
  restore: () => import('./commands/restore.js'),
  log: () => import('./commands/log.js'),
  list: () => import('./commands/list.js'),
  show: () => import('./commands/show.js'),
  diff: () => import('./commands/diff.js'),
  prune: () => import('./commands/prune.js'),
  pin: () => import('./commands/pin.js'),
  unpin: () => import('./commands/unpin.js'),
  init: () => import('./commands/init.js'),
  export: () => import('./commands/export.js'),
  verify: () => import('./commands/verify.js'),
  doctor: () => import('./commands/doctor.js'),
  serve: () => import('./commands/serve.js'),
};

/** Options that take a value, so that their value is not mistaken for the command's name. */
const VALUE_OPTIONS = valueOptions();

export const MAIN_HELP = `safe-run — run risky scripts against your databases with a verified backup first

Usage:
  safe-run [options] -- <command> [args...]   back up, run it, print the undo
  safe-run backup [--reason TEXT]             take a manual backup
  safe-run rollback <run-id>                  undo a run: restore its backups
  safe-run restore [<backup-id>]              restore a backup (guided on a TTY)
  safe-run log                                recent runs
  safe-run show <run-id>                      one run in full
  safe-run list                               backups in the store
  safe-run diff <run-id>                      what a run changed
  safe-run prune [--keep-last N] [--dry-run]  remove old backups (retention)
  safe-run pin <backup-id>                    keep a backup whatever prune says
  safe-run unpin <backup-id>                  let prune decide about it again
  safe-run init                               write safe-run.config.json
  safe-run export <backup-id|db> [--zip]      a backup's tables as CSV files
  safe-run verify [<backup-id>...]            re-check every backup (or these)
  safe-run doctor [--yes]                     check the databases; repair damage
  safe-run serve [--every 12h]                scheduled backups, the dashboard

Options of a guarded run:
  --db NAME|PATH         this database instead of the config's (repeatable)
  --reason TEXT          why you are running it; kept with the run and backups
  --rollback-on-failure  restore the backups when the command fails
  --wait SECONDS         wait this long for another safe-run's lock (default 30)
  --no-wait              fail at once if a database is locked
  --config PATH          use this config file instead of looking for one
  -C, --directory DIR    work as if started in DIR (its config, log and store)
  --debug                print stack traces of errors

Exit codes of a guarded run: the command's own; 125 safe-run failed (the
command did not run); 126 command not executable; 127 command not found.
Run safe-run <command> --help for each command's options and exit codes.`;

/** Split argv into safe-run's own words and the guarded command (after the first "--"). */
function splitAtDashes(argv: string[]): { own: string[]; command: string[] | undefined } {
  const i = argv.indexOf('--');
  return i < 0 ? { own: argv, command: undefined } : { own: argv.slice(0, i), command: argv.slice(i + 1) };
}

function findVerb(own: string[]): { verb?: string; rest: string[] } {
  for (let i = 0; i < own.length; i++) {
    const word = own[i]!;
    if (VALUE_OPTIONS.has(word)) {
      i++;
      continue;
    }
    if (word.startsWith('-')) continue;
    return { verb: word, rest: [...own.slice(0, i), ...own.slice(i + 1)] };
  }
  return { rest: own };
}

export async function main(argv: string[]): Promise<void> {
  ignoreClosedOutput();
  const { own, command } = splitAtDashes(argv);
  const { verb, rest } = findVerb(own);
  const isRun = verb === undefined && command !== undefined;
  const debug = own.includes('--debug');
  try {
    if (verb === undefined && !isRun) {
      if (own.includes('--version') || own.includes('-V')) {
        const { VERSION } = await import('../version.js');
        process.stdout.write(`${VERSION}\n`);
        return exit(0);
      }
      if (own.length === 0 || own.includes('--help') || own.includes('-h')) {
        process.stdout.write(MAIN_HELP + '\n');
        return exit(own.length === 0 ? 2 : 0);
      }
      throw new SafeRunError('usage', 'no command given', {
        hint: 'put the command after "--": safe-run [options] -- node scripts/migrate.js',
      });
    }
    if (verb === 'help') {
      const topic = rest.find((w) => !w.startsWith('-'));
      const mod = topic && COMMANDS[topic] ? await COMMANDS[topic]() : undefined;
      process.stdout.write((mod?.help ?? MAIN_HELP) + '\n');
      return exit(0);
    }
    const load = COMMANDS[isRun ? 'run' : verb!];
    if (!load) {
      throw new SafeRunError('usage', `unknown command "${verb}"`, {
        hint: `commands: ${Object.keys(COMMANDS).filter((c) => c !== 'run').join(', ')}; to guard a program, put it after "--": safe-run -- ${verb} …`,
      });
    }
    if (!isRun && command !== undefined) {
      throw new SafeRunError('usage', `"${verb}" takes no command after "--"`, { hint: `see: safe-run ${verb} --help` });
    }
    const help = rest.includes('--help') || rest.includes('-h');
    // The lock keeper a guarded run needs starts now, alongside the loading of the code below.
    if (isRun && !help) startKeeperEarly();
    const mod = await load();
    if (help) {
      process.stdout.write(mod.help + '\n');
      return exit(0);
    }
    return exit(await mod.run(rest, command ?? []));
  } catch (err) {
    reportError(err, debug);
    const code = exitCodeFor(err);
    return exit(isRun ? (code === 130 ? 130 : RUN_EXIT.safeRunFailed) : code);
  }
}

/** One line saying what failed, one saying what to try; the stack only with --debug. */
export function reportError(err: unknown, debug: boolean, consequence?: string): void {
  const c = paintFor(process.stderr);
  // Paths and ids in messages may hold control characters: show them, never send them to the terminal.
  // Newlines stay: a message may list candidates on lines of its own (an ambiguous id).
  const message = (err instanceof Error ? err.message : String(err)).split('\n').map(visible).join('\n');
  process.stderr.write(`${c.red().bold('safe-run:')} ${message}\n`);
  if (consequence) process.stderr.write(`  ${consequence}\n`);
  if (err instanceof SafeRunError) {
    if (err.hint) process.stderr.write(`  ${c.dim('try:')} ${visible(err.hint)}\n`);
  } else if (!debug) {
    process.stderr.write(`  ${c.dim('this is a bug in safe-run; run again with --debug and report the output')}\n`);
  }
  if (debug && err instanceof Error) process.stderr.write(`${err.stack}\n${err.cause ? `cause: ${(err.cause as Error).stack ?? err.cause}\n` : ''}`);
}

/** Set the exit code and let pending writes to stdout/stderr drain (process.exit would cut pipes short). */
function exit(code: number): void {
  process.exitCode = code;
}
