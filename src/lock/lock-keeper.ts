// The lock keeper: a helper process that holds a guarded run's database locks for as long as the run's
// command lives, even when safe-run itself is killed with SIGKILL.
//
// Why a process of its own: the locks are fcntl locks (SQLite's), which belong to one process and are
// not inherited by children, so the guarded command can never hold them, and safe-run's death drops
// them at once while its command may keep writing. The keeper takes the locks for safe-run and watches
// a "lifeline": one end of a socket pair whose other end safe-run holds and passes to the command as
// its file descriptor 3 (inherited by whatever the command starts). The kernel closes a descriptor when
// its process dies, however it dies, so the keeper reads end-of-file exactly when safe-run and the
// command (and every process that kept fd 3) are gone; only then does it let the locks go.
//
// Protocol (Node IPC, fd 3 here; the lifeline is fd 4):
//   safe-run → keeper  { type: 'lock', files, purpose, owner, waitMs }   then   { type: 'release' }
//   keeper → safe-run  { type: 'wait', file, holder } · { type: 'held' } · { type: 'failed', … } · { type: 'released' }
import net from 'node:net';
import os from 'node:os';
import { acquireLock, LockBusyError, writeNote, type Lock, type LockHolder } from './file-lock.js';

export interface LockRequest {
  type: 'lock';
  files: string[];
  purpose: string;
  owner: number;
  waitMs: number;
}

export type KeeperReport =
  | { type: 'wait'; file: string; holder?: LockHolder }
  | { type: 'held' }
  | { type: 'failed'; file: string; busy: boolean; holder?: LockHolder; waitedMs: number; message: string; code?: string }
  | { type: 'released' };

const held: Array<{ lock: Lock; holder: LockHolder }> = [];
let parentGone = false;
let lifelineOpen = true;

/** Send a report; resolves once it is written, so that exiting right after does not lose it. */
const send = (report: KeeperReport) =>
  new Promise<void>((resolve) => {
    if (!process.connected) return resolve();
    process.send!(report, undefined, {}, () => resolve());
  });

async function releaseAll(): Promise<void> {
  for (const { lock } of held.splice(0).reverse()) await lock.release();
}

async function finish(): Promise<never> {
  await releaseAll();
  process.exit(0);
}

async function lockAll(req: LockRequest): Promise<void> {
  for (const file of req.files) {
    try {
      const lock = await acquireLock(file, {
        purpose: req.purpose,
        owner: req.owner,
        waitMs: req.waitMs,
        onWait: (holder) => void send({ type: 'wait', file, holder }),
      });
      held.push({ lock, holder: { pid: req.owner, host: os.hostname(), startedAt: new Date().toISOString(), purpose: req.purpose } });
    } catch (err) {
      const busy = err instanceof LockBusyError;
      await send({
        type: 'failed',
        file,
        busy,
        holder: busy ? err.holder : undefined,
        waitedMs: busy ? err.waitedMs : 0,
        message: (err as Error).message,
        code: (err as { code?: string }).code,
      });
      await finish();
    }
  }
  await send({ type: 'held' });
}

// Ctrl-C on a terminal reaches the whole foreground process group; the keeper goes when its run does.
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(sig, () => undefined);

const lifeline = new net.Socket({ fd: 4, readable: true, writable: false });
lifeline.on('data', () => undefined); // the command may write to its fd 3; nothing it says matters
const lifelineGone = () => {
  lifelineOpen = false;
  if (parentGone) void finish();
};
lifeline.on('end', lifelineGone);
lifeline.on('close', lifelineGone);
lifeline.on('error', lifelineGone);

process.on('message', (msg: LockRequest | { type: 'release' }) => {
  if (msg.type === 'lock') void lockAll(msg);
  else if (msg.type === 'release') {
    void releaseAll()
      .then(() => send({ type: 'released' }))
      .then(() => process.exit(0));
  }
});

process.on('disconnect', () => {
  // safe-run is gone without releasing: killed. Its command may still run: keep the locks until it ends.
  parentGone = true;
  if (!lifelineOpen) return void finish();
  for (const { lock, holder } of held) {
    void writeNote(lock.file, { ...holder, purpose: `${holder.purpose} — safe-run (pid ${holder.pid}) was killed; its command still runs` });
  }
});
