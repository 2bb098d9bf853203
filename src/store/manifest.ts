// The manifest that describes one backup, and the public (JSON) view of a backup.
import type { SnapshotFacts } from '../engines/engine.js';

export type BackupKind = 'pre-run' | 'manual' | 'pre-restore';

export interface BackupManifest {
  format: 1;
  id: string;
  /** The configured name of the database. */
  database: string;
  engine: 'sqlite';
  /** The live database it came from (resolved path, or URL without password): its identity. */
  source: string;
  kind: BackupKind;
  reason?: string;
  /** The run (or restore) this backup belongs to. */
  runId?: string;
  createdAt: string;
  /** How long taking and verifying it took, in ms. */
  durationMs: number;
  /** The snapshot file's name inside the backup's directory. */
  file: string;
  size: number;
  sha256: string;
  facts: SnapshotFacts;
  safeRunVersion: string;
}

/** A backup as the rest of safe-run sees it: the manifest plus where its file is. */
export interface Backup extends BackupManifest {
  /** Absolute path of the snapshot file. */
  path: string;
}
