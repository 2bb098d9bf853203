// Hold locks in a lock keeper (./lock-keeper.ts) that outlives safe-run while the guarded command lives.
import type { Socket } from 'node:net';
import { LockBusyError, type LockHolder } from './file-lock.js';
import { takeKeeper } from './keeper-process.js';
import type { KeeperReport, LockRequest } from './lock-keeper.js';

export interface KeptLocks {
  /** Pass this to the command as an extra descriptor: the locks stay while any process holds it. */
  readonly lifeline: Socket;
  /** Let the locks go now (the run is over), whatever still holds the lifeline. */
  release(): Promise<void>;
}

export interface KeepOptions {
  purpose: string;
  waitMs: number;
  onWait?: (file: string, holder: LockHolder | undefined) => void;
}

/**
 * Take `files` in this order through a new lock keeper. Rejects with a LockBusyError (busy after
 * waitMs) or an Error (with the errno code) like acquireLock; the keeper is gone then.
 */
export function keepLocks(files: string[], opts: KeepOptions): Promise<KeptLocks> {
  const { child: keeper, lifeline } = takeKeeper();
  let onReport: ((r: KeeperReport) => void) | undefined;
  let onExit: (() => void) | undefined;
  keeper.on('message', (r: KeeperReport) => onReport?.(r));
  keeper.on('exit', () => onExit?.());
  const forget = () => {
    lifeline.destroy();
    if (keeper.connected) keeper.disconnect();
    keeper.unref();
  };
  return new Promise((resolve, reject) => {
    onExit = () => {
      forget();
      reject(new Error('the lock keeper exited before it held the locks'));
    };
    onReport = (r) => {
      if (r.type === 'wait') opts.onWait?.(r.file, r.holder);
      else if (r.type === 'failed') {
        onExit = undefined;
        forget();
        reject(r.busy ? new LockBusyError(r.file, r.holder, r.waitedMs) : Object.assign(new Error(r.message), { code: r.code, file: r.file }));
      } else if (r.type === 'held') {
        onExit = undefined;
        let released: Promise<void> | undefined;
        resolve({
          lifeline,
          release: () =>
            (released ??= new Promise<void>((done) => {
              if (keeper.exitCode !== null || !keeper.connected) return done(forget());
              onReport = (m) => m.type === 'released' && done(forget());
              onExit = () => done(forget());
              keeper.send({ type: 'release' });
            })),
        });
      }
    };
    keeper.send({ type: 'lock', files, purpose: opts.purpose, owner: process.pid, waitMs: opts.waitMs } satisfies LockRequest);
  });
}
