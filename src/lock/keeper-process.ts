// Start the lock keeper's process (./lock-keeper.ts), ahead of need: a guarded run starts one first thing,
// so that its Node and SQLite load on another core while safe-run loads its own code, instead of after
// (waiting for the keeper was the largest part of a guarded run's start-up: npm run bench:startup).
import { fork, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import type { Socket } from 'node:net';
import { builtFile } from '../files/built-file.js';

export interface KeeperProcess {
  readonly child: ChildProcess;
  /** safe-run's end of the lifeline (the keeper's fd 4); the command gets it as its fd 3. */
  readonly lifeline: Socket;
}

let spare: KeeperProcess | undefined;

/**
 * Start a keeper now and keep it for the next takeKeeper(). It holds nothing until asked, and does not
 * keep safe-run alive: unused, it ends with safe-run (its IPC channel and lifeline close then).
 */
export function startKeeperEarly(): void {
  if (spare) return;
  spare = spawnKeeper();
  spare.child.unref();
  spare.child.channel?.unref();
  spare.lifeline.unref();
}

/** The keeper started early if it is still alive, or a new one; it keeps safe-run alive from now on. */
export function takeKeeper(): KeeperProcess {
  const early = spare;
  spare = undefined;
  if (early && early.child.exitCode === null && early.child.signalCode === null && early.child.connected) {
    early.child.ref();
    early.child.channel?.ref();
    early.lifeline.ref();
    return early;
  }
  if (early) early.lifeline.destroy();
  return spawnKeeper();
}

function spawnKeeper(): KeeperProcess {
  // detached: its own session, so that terminal signals and job control leave it alone.
  const child = fork(keeperScript(), [], {
    stdio: ['ignore', 'ignore', 'ignore', 'ipc', 'pipe'],
    detached: true,
    execArgv: [], // not safe-run's --inspect or --cpu-prof: the keeper is a plain helper
    env: keeperEnv(process.env),
    serialization: 'json',
  });
  const lifeline = child.stdio[4] as Socket;
  lifeline.on('error', () => undefined);
  child.on('error', () => undefined); // a failed send: the keeper is gone, and 'exit' says so
  return { child, lifeline };
}

/**
 * The keeper as one CommonJS file (built by the bundle script): Node loads it without its ES module
 * loader and without resolving three modules, ~5 ms sooner than dist/lock/lock-keeper.js (measured from
 * start to a lock held, best of 30), which stays as the fallback for a build without the bundle.
 */
function keeperScript(): URL {
  const bundled = builtFile('bundle/lock-keeper.cjs', import.meta.url);
  return existsSync(bundled) ? bundled : builtFile('lock/lock-keeper.js', import.meta.url);
}

/**
 * The environment without what only costs the keeper time: it opens no network connection, so extra CA
 * certificates (which every Node process otherwise parses at start, ~30 ms where a system sets them) are
 * of no use to it.
 */
function keeperEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  if (env.NODE_EXTRA_CA_CERTS === undefined) return env;
  const { NODE_EXTRA_CA_CERTS: _unused, ...rest } = env;
  return rest;
}
