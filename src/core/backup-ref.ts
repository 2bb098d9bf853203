// How a run record refers to a backup.
import type { BackupRef } from '../oplog/run-record.js';
import type { Backup } from '../store/manifest.js';

export function toRef(b: Backup): BackupRef {
  return { id: b.id, database: b.database, engine: b.engine, source: b.source, path: b.path, sha256: b.sha256, size: b.size };
}
