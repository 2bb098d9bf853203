// The library API of safe-run (re-exports, plus withBackup).
export { withBackup, type WithBackupOptions, type WithBackupResult } from './core/with-backup.js';
export { loadConfig, type Config, type DatabaseConfig } from './config.js';
export { SafeRunError, EXIT, RUN_EXIT } from './errors.js';
export type { RunRecord, BackupRef } from './oplog/run-record.js';
export type { Backup, BackupManifest } from './store/manifest.js';
export type { Engine, SnapshotFacts } from './engines/engine.js';
