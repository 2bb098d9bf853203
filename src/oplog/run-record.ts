// The records of the operation log: one per guarded run, backup, restore or rollback.

/** A backup as a run refers to it. */
export interface BackupRef {
  id: string;
  database: string;
  /** The engine that took it (absent in logs written before there was more than SQLite). */
  engine?: string;
  /** The live database (path, or URL without password). */
  source: string;
  path: string;
  sha256: string;
  size: number;
}

export type RunKind = 'run' | 'library' | 'backup' | 'restore' | 'rollback' | 'prune';

/** Runs whose argv is safe-run's own command line (manual backups, restores), not a guarded command. */
export function isOwnCommand(r: { kind: RunKind }): boolean {
  return r.kind === 'backup' || r.kind === 'restore' || r.kind === 'rollback' || r.kind === 'prune';
}

/**
 * running: in progress (or its safe-run was killed: shown as interrupted once its pid is gone);
 * succeeded / failed: the command exited 0 / otherwise (or died of a signal);
 * aborted: safe-run stopped before starting the command (backup, lock), the command never ran.
 */
export type RunStatus = 'running' | 'succeeded' | 'failed' | 'aborted' | 'interrupted';

export interface RunRecord {
  id: string;
  kind: RunKind;
  status: RunStatus;
  /** The command as given, one element per argument; for restores, safe-run's own argv. */
  argv: string[];
  cwd: string;
  user: string;
  host: string;
  pid: number;
  safeRunVersion: string;
  reason?: string;
  databases: string[];
  startedAt: string;
  endedAt?: string;
  durationMs?: number;
  exitCode?: number | null;
  signal?: string | null;
  /** Backups taken for this run: pre-run ones, or the safety backups of a restore. */
  backups: BackupRef[];
  /** Restores and rollbacks: the backups that were put in place. */
  restored?: Array<{ backupId: string; database: string; method?: string }>;
  /** The command that undoes this run, ready to paste. */
  rollbackCommand?: string;
  /** What went wrong, in one line (aborted runs, failed restores). */
  error?: string;
  /**
   * Set when the command ran without a backup because backups are switched off (SAFE_RUN_DISABLE=1 or
   * "enabled": false); `reason` names the switch. Nothing else ever skips a backup.
   */
  backupSkipped?: { reason: string };
  /** Set when --rollback-on-failure restored the pre-run backups (or tried to). */
  autoRollback?: { ok: boolean; restoreRunId?: string; error?: string };
  /**
   * Prunes: the backups this prune removes. Written before the first removal (so a killed prune still
   * says what it was removing), then set to what was removed; `at` is when each one went.
   */
  pruned?: PrunedBackup[];
}

export interface PrunedBackup {
  backupId: string;
  database: string;
  /** The run that took it, so that `show` and `rollback` of that run can say it was pruned. */
  runId?: string;
  createdAt: string;
  size: number;
  /** When it was removed; absent while the prune has not reached it. */
  at?: string;
}

/**
 * The active log file (`logs/operations.json`): the recent runs, oldest first, and the sealed segments
 * that hold the older ones, oldest first. A segment is itself a `LogData` without `archived`.
 */
export interface LogData {
  version: 1;
  runs: RunRecord[];
  archived?: ArchivedSegment[];
}

/** One sealed segment as the active file lists it: enough to skip reading it when it is not needed. */
export interface ArchivedSegment {
  /** The segment's file name, in the directory of the active file. */
  file: string;
  /** How many runs it holds. */
  runs: number;
  /** The `startedAt` of its first and last run. */
  from: string;
  to: string;
}
