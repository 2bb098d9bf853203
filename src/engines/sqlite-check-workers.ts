// The check and the facts of a SQLite file in two worker threads, so that with the hashing or the copy
// on the main thread all three overlap; on a backup file, or on the live database's read snapshot.
import { Worker } from 'node:worker_threads';
import type { CheckLevel } from '../config.js';
import { builtFile } from '../files/built-file.js';
import type { SnapshotFacts } from './engine.js';
import { CheckFailedError } from './engine-errors.js';
import { CHECK_HINT, type VerifyPart } from './sqlite-facts.js';

type Answer = { ok: boolean; value?: unknown; error?: { message: string; code?: string; checkResult?: string } };

/** A verification running in its workers. */
export interface RunningCheck {
  /**
   * Once both workers have begun: `began` false when one could not (busy); `immutable` true when both
   * read the file as it is on disk (see files/sqlite-uri.ts), else they are inside read transactions of their own.
   */
  began: Promise<{ began: boolean; immutable: boolean }>;
  /** The facts with the check's result (`check.on` as given). A failed check wins over an error reading the facts. */
  facts: Promise<SnapshotFacts>;
  /** Stop both workers (their answer is no longer wanted); `facts` then rejects. */
  stop(): Promise<void>;
}

/** Check a backup file (opened read-only: it is in rollback-journal mode and needs nothing beside it). */
export function verifyInWorkers(file: string, level: CheckLevel): Promise<SnapshotFacts> {
  return startCheck(file, level, false).facts;
}

/** Only the integrity check of a backup file, in one worker: its result ("ok"), or CheckFailedError. */
export async function checkOnlyInWorker(file: string, level: CheckLevel): Promise<string> {
  return (await inWorker(file, level, 'check', false).answer) as string;
}

/**
 * Check the live database at `file` while the caller holds the read transaction that fixes what it
 * copies: each worker reads the file as it is on disk, or (when it cannot) a read snapshot of its own,
 * which the caller must then prove to be the copied bytes once `began` says so (see sqlite-snapshot.ts).
 */
export function checkLiveInWorkers(file: string, level: CheckLevel): RunningCheck {
  return startCheck(file, level, true);
}

function startCheck(file: string, level: CheckLevel, live: boolean): RunningCheck {
  const check = inWorker(file, level, 'check', live);
  const facts = inWorker(file, level, 'facts', live);
  const settled = (async () => {
    const [c, f] = await Promise.allSettled([check.answer, facts.answer]);
    if (c.status === 'rejected') throw c.reason;
    if (f.status === 'rejected') throw f.reason;
    return { ...(f.value as Omit<SnapshotFacts, 'check'>), check: { level, result: c.value as string, on: live ? ('snapshot' as const) : ('copy' as const) } };
  })();
  settled.catch(() => undefined); // the caller may stop the workers and never await it
  return {
    began: Promise.all([check.began, facts.began]).then(([a, b]) => ({ began: a.began && b.began, immutable: a.immutable && b.immutable })),
    facts: settled,
    async stop() {
      await Promise.all([check.worker.terminate(), facts.worker.terminate()]);
    },
  };
}

function inWorker(file: string, level: CheckLevel, part: VerifyPart, live: boolean) {
  const worker = new Worker(builtFile('engines/sqlite-verify-worker.js', import.meta.url), { workerData: { file, level, part, live } });
  let resolveBegan!: (v: { began: boolean; immutable: boolean }) => void;
  const beganP = new Promise<{ began: boolean; immutable: boolean }>((r) => (resolveBegan = r));
  const began = (ok: boolean, immutable = false) => resolveBegan({ began: ok, immutable });
  const answer = new Promise<unknown>((resolve, reject) => {
    let answered = false;
    worker.on('message', (msg: Answer | { began: boolean; immutable?: boolean }) => {
      if ('began' in msg) {
        began(msg.began, msg.immutable);
        if (!msg.began) {
          answered = true;
          reject(new Error('the live database was busy: its snapshot could not be read'));
        }
        return;
      }
      answered = true;
      began(false); // an answer without "began" first (an error, or a check of a file): nothing to prove
      if (msg.ok) resolve(msg.value);
      else if (msg.error?.checkResult !== undefined) reject(new CheckFailedError(msg.error.checkResult, CHECK_HINT));
      else reject(Object.assign(new Error(msg.error?.message ?? 'verify failed'), { code: msg.error?.code }));
    });
    worker.once('error', (err) => {
      began(false);
      reject(err);
    });
    worker.once('exit', (code) => {
      began(false);
      if (!answered) reject(new Error(`verify worker exited with code ${code} without an answer`));
    });
  });
  answer.catch(() => undefined);
  return { worker, began: beganP, answer };
}
