// Run the user's command: arguments as given, stdio inherited, signals forwarded, exit status reported.
import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import type { Socket } from 'node:net';
import { constants as osc } from 'node:os';

export interface CommandOutcome {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  /** Set when the command could not be started: 'not-found' (127) or 'not-executable' (126). */
  spawnError?: { kind: 'not-found' | 'not-executable'; message: string };
}

const FORWARDED: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

/**
 * Run `argv` without a shell, with this process's stdio, environment and `cwd`. SIGINT, SIGTERM and
 * SIGHUP sent to safe-run are passed on to the command (as npm does; on a terminal Ctrl-C reaches both
 * anyway) and safe-run waits for it to end, however long its clean-up takes, so it can still complete
 * the log.
 *
 * Node's own spawn, not execa: with stdio inherited, no shell and no output to capture, execa added
 * nothing this needs, and loading it cost ~21 ms of CPU on every guarded run (its bundled chunk, best
 * of 30), a third of issue 13's start-up budget. (It also sent SIGKILL 5 s after a forwarded SIGTERM,
 * cutting short the clean-up the forwarding is for.)
 */
export async function runCommand(argv: string[], cwd: string, opts: { lifeline?: Socket } = {}): Promise<CommandOutcome> {
  // Forwarding is in place before the spawn: the command may run (and be signalled by someone who saw
  // it start) before spawn returns. A signal that comes before the child exists is passed on as soon
  // as it does.
  let child: ChildProcess | undefined;
  const early: NodeJS.Signals[] = [];
  const forward = (sig: NodeJS.Signals) => {
    if (child) child.kill(sig);
    else early.push(sig);
  };
  for (const sig of FORWARDED) process.on(sig, forward);
  try {
    const [file, ...args] = argv;
    // The lifeline (see lock/lock-keeper.ts) becomes the command's fd 3: the locks stay while it lives.
    const stdio: StdioOptions = opts.lifeline ? ['inherit', 'inherit', 'inherit', opts.lifeline] : 'inherit';
    return await new Promise<CommandOutcome>((resolve) => {
      try {
        child = spawn(file!, args, { stdio, cwd, shell: false });
      } catch (err) {
        return resolve(spawnFailure(file!, err));
      }
      for (const sig of early.splice(0)) child.kill(sig);
      // A command that cannot be started emits 'error' (and perhaps 'exit' too); the first event wins.
      child.once('error', (err) => resolve(spawnFailure(file!, err)));
      child.once('exit', (code, signal) => resolve({ exitCode: code, signal }));
    });
  } finally {
    for (const sig of FORWARDED) process.off(sig, forward);
  }
}

/** Why `file` did not start: not found (127), not executable (126), or something else (exit 1). */
function spawnFailure(file: string, err: unknown): CommandOutcome {
  const code = (err as { code?: string }).code;
  if (code === 'ENOENT') return { exitCode: null, signal: null, spawnError: { kind: 'not-found', message: `${file}: command not found` } };
  if (code === 'EACCES' || code === 'ENOEXEC' || code === 'EISDIR') {
    return { exitCode: null, signal: null, spawnError: { kind: 'not-executable', message: `${file}: cannot execute (${code})` } };
  }
  return { exitCode: null, signal: null };
}

/** The exit code a shell would report for this outcome: the code, or 128 + the signal's number. */
export function shellExitCode(outcome: CommandOutcome): number {
  if (outcome.spawnError) return outcome.spawnError.kind === 'not-found' ? 127 : 126;
  if (outcome.signal) return 128 + (osc.signals[outcome.signal] ?? 0);
  return outcome.exitCode ?? 1;
}
