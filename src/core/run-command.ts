// Run the user's command: arguments as given, stdio inherited, signals forwarded, exit status reported.
import type { Socket } from 'node:net';
import { constants as osc } from 'node:os';

export interface CommandOutcome {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  /** Set when the command could not be started: 'not-found' (127) or 'not-executable' (126). */
  spawnError?: { kind: 'not-found' | 'not-executable'; message: string };
}

const FORWARDED: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

/** execa, loaded once: started early by preloadCommandRunner, awaited by runCommand. */
let execaModule: Promise<typeof import('execa')> | undefined;
const loadExeca = () => (execaModule ??= import('execa'));

/**
 * Start loading what runCommand needs (execa: ~240 KB of code to compile) now, so that it is ready when
 * the command starts: the loading fills the time safe-run otherwise waits for its lock keeper and the
 * disk. A failure shows when runCommand awaits the same load.
 */
export function preloadCommandRunner(): void {
  loadExeca().catch(() => undefined);
}

/**
 * Run `argv` without a shell, with this process's stdio, environment and `cwd`. SIGINT, SIGTERM and
 * SIGHUP sent to safe-run are passed on to the command (as npm does; on a terminal Ctrl-C reaches both
 * anyway) and safe-run waits for it to end, so it can still complete the log.
 */
export async function runCommand(argv: string[], cwd: string, opts: { lifeline?: Socket } = {}): Promise<CommandOutcome> {
  // Forwarding is in place before the spawn: the command may run (and be signalled by someone who saw
  // it start) before execa returns, and execa's own exit hook would then re-raise the signal and kill
  // safe-run, leaving the command orphaned. A signal that comes before the child exists is passed on
  // as soon as it does.
  let child: { kill(sig: NodeJS.Signals): unknown } | undefined;
  const early: NodeJS.Signals[] = [];
  const forward = (sig: NodeJS.Signals) => {
    if (child) child.kill(sig);
    else early.push(sig);
  };
  for (const sig of FORWARDED) process.on(sig, forward);
  try {
    const { execa } = await loadExeca(); // loaded only on the path that runs a command
    const [file, ...args] = argv;
    // The lifeline (see lock/lock-keeper.ts) becomes the command's fd 3: the locks stay while it lives.
    const stdio = opts.lifeline ? (['inherit', 'inherit', 'inherit', opts.lifeline] as const) : ('inherit' as const);
    const subprocess = execa(file!, args, { stdio, cwd, reject: false, shell: false, stripFinalNewline: false });
    child = subprocess;
    for (const sig of early.splice(0)) subprocess.kill(sig);
    const result = await subprocess;
    const code = (result as { code?: string }).code ?? (result.cause as { code?: string } | undefined)?.code;
    if (result.exitCode === undefined && result.signal === undefined && code) {
      if (code === 'ENOENT') return { exitCode: null, signal: null, spawnError: { kind: 'not-found', message: `${file}: command not found` } };
      if (code === 'EACCES' || code === 'ENOEXEC' || code === 'EISDIR') {
        return { exitCode: null, signal: null, spawnError: { kind: 'not-executable', message: `${file}: cannot execute (${code})` } };
      }
    }
    return { exitCode: result.exitCode ?? null, signal: (result.signal as NodeJS.Signals | undefined) ?? null };
  } finally {
    for (const sig of FORWARDED) process.off(sig, forward);
  }
}

/** The exit code a shell would report for this outcome: the code, or 128 + the signal's number. */
export function shellExitCode(outcome: CommandOutcome): number {
  if (outcome.spawnError) return outcome.spawnError.kind === 'not-found' ? 127 : 126;
  if (outcome.signal) return 128 + (osc.signals[outcome.signal] ?? 0);
  return outcome.exitCode ?? 1;
}
