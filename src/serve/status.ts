// What `safe-run serve` knows at any moment: the seam between the scheduler and the dashboard (and --json).
import type { EnvironmentFinding } from '../core/environment.js';
import type { BackupKind } from '../store/manifest.js';

export type { EnvironmentFinding };

export interface DatabaseStatus {
  name: string;
  /** The engine kind ("sqlite", "postgres", "mysql", "duckdb"). */
  engine: string;
  /** The printable location (path, or URL without password). */
  location: string;
  /** The check made at start (the same as `safe-run doctor`); undefined until it has run. */
  lastCheck?: { at: string; state: 'ok' | 'damaged' | 'missing' | 'unchecked' | string; problems: string[] };
  /** The newest backup this server took (or found in the store at start). */
  lastBackup?: { id: string; kind: BackupKind; at: string };
  /** The newest failure of a backup of this database by this server (cleared by nothing: compare `at`). */
  lastFailure?: { at: string; kind: BackupKind; message: string };
  /** The newest tick skipped because a backup of this database was still running. */
  lastSkip?: { at: string; reason: string };
  /** When the next scheduled backup is due (ISO time); undefined while shutting down. */
  nextTickAt?: string;
  /** Set while a backup of this database is being taken (or waits its turn in this tick). */
  backupInProgress?: { kind: BackupKind; since: string };
  /** Counts since start. */
  backupsTaken: number;
  failures: number;
  skipped: number;
}

export interface ServeStatus {
  startedAt: string;
  pid: number;
  /** running, or stopping (the shutdown backups are being taken). */
  state: 'starting' | 'running' | 'stopping';
  /** How the schedule reads for a person: "every 12h" or "cron 0 3 * * * (UTC)". */
  schedule: string;
  /** What core/environment.ts found at start: a store that vanishes or cannot be written, and why. */
  environment: EnvironmentFinding[];
  databases: DatabaseStatus[];
}
