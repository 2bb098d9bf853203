// The scheduler of `safe-run serve`: a check and a startup backup of every database, a scheduled backup
// at every tick, a shutdown backup on stop. It prints nothing: it reports events and keeps a ServeStatus.
import type { DatabaseConfig } from '../config.js';
import { openEngine, type Context } from '../core/context.js';
import { examineDatabases, planRepair, repairDatabase } from '../core/doctor.js';
import type { Engine } from '../engines/engine.js';
import type { EnvironmentFinding } from '../core/environment.js';
import { guard } from '../core/guard.js';
import { SafeRunError } from '../errors.js';
import type { Backup, BackupKind } from '../store/manifest.js';
import type { Schedule } from './schedule.js';
import type { DatabaseStatus, ServeStatus } from './status.js';

export type ServeEvent =
  | { type: 'check'; database: string; state: string; problems: string[] }
  /** autoRestore: a database found damaged at start was restored from its newest good backup (as doctor --yes). */
  | { type: 'repaired'; database: string; backupId: string; restoreRunId: string; damagedFilesIn: string }
  | { type: 'repair-failed'; database: string; message: string }
  | { type: 'backup-start'; database: string; kind: BackupKind }
  | { type: 'backup-done'; database: string; kind: BackupKind; backup: Backup; ms: number; pruned: number }
  | { type: 'backup-failed'; database: string; kind: BackupKind; message: string; hint?: string }
  | { type: 'tick-skipped'; database: string; reason: string }
  /** Another safe-run holds the database (a guarded run, a restore): the backup waits for it. */
  | { type: 'lock-wait'; database: string; holder: string; waitMs: number }
  /** When the next tick is due (ISO time); the JSON line's `at` is, as for every event, when it was said. */
  | { type: 'next-tick'; due: string }
  | { type: 'stopping' }
  | { type: 'stopped' };

export interface SchedulerOptions {
  ctx: Context;
  databases: DatabaseConfig[];
  schedule: Schedule;
  environment: EnvironmentFinding[];
  onEvent?: (event: ServeEvent) => void;
  now?: () => Date;
}

/**
 * How long a startup or scheduled backup waits for another safe-run's lock (as the CLI's --wait); the
 * ticks meanwhile are skipped. The shutdown backup does not wait: stopping must not hang on a long run.
 */
const LOCK_WAIT_MS = 30_000;

/** setTimeout's longest delay (about 24.8 days): a later tick is reached in several waits. */
const MAX_DELAY = 2 ** 31 - 1;

export class Scheduler {
  readonly status: ServeStatus;
  private readonly emit: (event: ServeEvent) => void;
  private readonly now: () => Date;
  private timer: NodeJS.Timeout | undefined;
  private nextDue: Date | undefined;
  /** Backups are taken one at a time: gentler on the machine, and the log and store see one writer. */
  private queue: Promise<void> = Promise.resolve();
  private stopping = false;
  private starting: Promise<void> | undefined;

  constructor(private readonly opts: SchedulerOptions) {
    this.emit = opts.onEvent ?? (() => undefined);
    this.now = opts.now ?? (() => new Date());
    this.status = {
      startedAt: this.now().toISOString(),
      pid: process.pid,
      state: 'starting',
      schedule: opts.schedule.description,
      environment: opts.environment,
      databases: opts.databases.map((d) => ({ name: d.name, engine: '', location: '', backupsTaken: 0, failures: 0, skipped: 0 })),
    };
  }

  /** Check every database, queue the startup backups, arm the timer; resolves once the checks are done. */
  start(): Promise<void> {
    this.starting ??= this.checkAndBegin();
    return this.starting;
  }

  private async checkAndBegin(): Promise<void> {
    await this.describeDatabases();
    for (const { engine, finding } of await examineDatabases(this.opts.databases).catch(() => [])) {
      const s = this.statusOf(engine.name);
      if (!s) continue;
      s.lastCheck = { at: this.now().toISOString(), state: finding.state, problems: finding.problems };
      this.emit({ type: 'check', database: engine.name, state: finding.state, problems: finding.problems });
      if (finding.state === 'damaged' && this.opts.ctx.config.autoRestore) await this.heal(engine);
    }
    if (this.stopping) return; // stopped during the checks: stop() takes the shutdown backups
    this.status.state = 'running';
    for (const db of this.opts.databases) this.enqueue(db, 'startup');
    this.arm(this.now());
  }

  /**
   * "autoRestore": true: repair a database found damaged at start as `safe-run doctor --yes` would (its
   * damaged files kept in the store, its newest good backup restored, logged as a restore), before its
   * startup backup. A repair that cannot be made is reported; the startup backup then fails its check.
   */
  private async heal(engine: Engine): Promise<void> {
    const s = this.statusOf(engine.name)!;
    try {
      const plan = await planRepair(this.opts.ctx, engine);
      if (!plan.backup) throw new Error('no backup of it verifies');
      const repaired = await repairDatabase(this.opts.ctx, engine, plan.backup, { waitMs: LOCK_WAIT_MS, argv: ['doctor', '--db', engine.name, '--yes'] });
      const check = await engine.checkLive!().catch(() => undefined);
      if (check) s.lastCheck = { at: this.now().toISOString(), state: check.state, problems: check.problems };
      this.emit({ type: 'repaired', database: engine.name, backupId: plan.backup.id, restoreRunId: repaired.record.id, damagedFilesIn: repaired.dir });
    } catch (err) {
      this.emit({ type: 'repair-failed', database: engine.name, message: err instanceof Error ? err.message : String(err) });
    }
  }

  /** Stop ticking, let a backup under way finish, take the shutdown backups. Never rejects. */
  /**
   * `settled`: what else must end before the shutdown backups (the dashboard's actions under way: a
   * manual backup or a restore holds the database's lock, and the shutdown backup does not wait for one).
   */
  async stop(settled?: Promise<unknown>): Promise<void> {
    if (this.stopping) return this.queue;
    this.stopping = true;
    this.status.state = 'stopping';
    this.emit({ type: 'stopping' });
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    for (const s of this.status.databases) delete s.nextTickAt;
    // A check or a repair under way at start is never cut short: it finishes first.
    await this.starting?.catch(() => undefined);
    await settled?.catch(() => undefined);
    // Backups queued but not started are dropped (backupOne sees `stopping`); the one running finishes.
    for (const db of this.opts.databases) this.enqueue(db, 'shutdown', true);
    await this.queue;
    this.emit({ type: 'stopped' });
  }

  private arm(after: Date): void {
    if (this.stopping) return;
    let due = this.opts.schedule.next(after);
    // Behind (the machine slept, a tick ran long): the next tick is the next one from now, not a burst.
    if (due.getTime() <= this.now().getTime()) due = this.opts.schedule.next(this.now());
    this.nextDue = due;
    for (const s of this.status.databases) s.nextTickAt = due.toISOString();
    this.emit({ type: 'next-tick', due: due.toISOString() });
    this.wait();
  }

  private wait(): void {
    const due = this.nextDue!;
    const delay = Math.max(0, due.getTime() - this.now().getTime());
    this.timer = setTimeout(() => {
      if (this.stopping) return;
      if (this.now().getTime() < due.getTime()) return this.wait(); // a long delay, reached in parts
      this.tick(due);
    }, Math.min(delay, MAX_DELAY));
  }

  private tick(due: Date): void {
    for (const db of this.opts.databases) this.enqueue(db, 'scheduled');
    this.arm(due);
  }

  /**
   * Queue one backup of `db`, unless one of it is under way or waiting (then the tick is skipped and
   * said so: a slow database never builds up a queue). The shutdown backup waits for the one under way.
   */
  private enqueue(db: DatabaseConfig, kind: BackupKind, shutdown = false): void {
    const s = this.statusOf(db.name)!;
    if (s.backupInProgress && !shutdown) {
      s.skipped++;
      const reason = `the ${s.backupInProgress.kind} backup started ${s.backupInProgress.since} is still running`;
      s.lastSkip = { at: this.now().toISOString(), reason };
      this.emit({ type: 'tick-skipped', database: db.name, reason });
      return;
    }
    if (!s.backupInProgress) s.backupInProgress = { kind, since: this.now().toISOString() };
    this.queue = this.queue.then(() => this.backupOne(db, kind, shutdown));
  }

  private async backupOne(db: DatabaseConfig, kind: BackupKind, shutdown: boolean): Promise<void> {
    const s = this.statusOf(db.name)!;
    if (this.stopping && !shutdown) {
      delete s.backupInProgress;
      return;
    }
    s.backupInProgress = { kind, since: this.now().toISOString() };
    this.emit({ type: 'backup-start', database: db.name, kind });
    const started = Date.now();
    let pruned = 0;
    try {
      // The same service as `safe-run backup --kind …`: locked, verified, logged, then the config's
      // retention. A database another safe-run holds is waited for a while, then the next tick tries again.
      const { backups } = await guard(
        this.opts.ctx,
        {
          databases: [db],
          argv: ['backup', '--kind', kind, '--db', db.name],
          kind: 'backup',
          backupKind: kind,
          reason: `${kind} backup by safe-run serve`,
          waitMs: shutdown ? 0 : LOCK_WAIT_MS,
          rollbackOnFailure: false,
          onEvent: (e) => {
            if (e.type === 'auto-prune') pruned += e.removed.length;
            if (e.type === 'lock-wait') {
              const holder = e.holder ? (e.holder.pid ? `pid ${e.holder.pid} (${e.holder.purpose})` : e.holder.purpose) : 'another process';
              this.emit({ type: 'lock-wait', database: e.database, holder, waitMs: e.waitMs });
            }
          },
        },
        async () => ({ ok: true, exitCode: 0, signal: null }),
      );
      const backup = backups[0]!;
      s.lastBackup = { id: backup.id, kind, at: backup.createdAt };
      s.backupsTaken++;
      this.emit({ type: 'backup-done', database: db.name, kind, backup, ms: Date.now() - started, pruned });
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      s.failures++;
      s.lastFailure = { at: this.now().toISOString(), kind, message };
      this.emit({ type: 'backup-failed', database: db.name, kind, message, hint: err instanceof SafeRunError ? err.hint : undefined });
    } finally {
      delete s.backupInProgress;
    }
  }

  /** Read the newest backup of each database from the store again (one was taken from the dashboard). */
  async refreshBackups(): Promise<void> {
    const stored = await this.opts.ctx.store.list().catch(() => [] as Backup[]);
    for (const s of this.status.databases) {
      const newest = stored.filter((b) => b.database === s.name).at(-1);
      if (newest) s.lastBackup = { id: newest.id, kind: newest.kind, at: newest.createdAt };
    }
  }

  /** Engine and location of each database, and its newest backup already in the store. */
  private async describeDatabases(): Promise<void> {
    const stored = await this.opts.ctx.store.list().catch(() => [] as Backup[]);
    for (const db of this.opts.databases) {
      const s = this.statusOf(db.name)!;
      const engine = await openEngine(db).catch(() => undefined);
      if (engine) Object.assign(s, { engine: engine.kind, location: engine.location });
      const newest = stored.filter((b) => b.database === db.name).at(-1);
      if (newest) s.lastBackup = { id: newest.id, kind: newest.kind, at: newest.createdAt };
    }
  }

  private statusOf(name: string): DatabaseStatus | undefined {
    return this.status.databases.find((d) => d.name === name);
  }
}
