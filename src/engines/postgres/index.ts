// The PostgreSQL engine's building blocks, re-exported for the engine seam to wire in.
export { parsePostgresUrl, isPostgresUrl, locationOf, withDatabase, type PgTarget, type ParsedPostgresUrl } from './url.js';
export { connectPg, safeRunAppName, serverIdentity } from './connect.js';
export { lockDatabase, type DatabaseLock } from './advisory-lock.js';
export { backupDatabase, type BackupStrategy, type PgBackup } from './backup.js';
export { cloneDatabase, verifyClone, dropClone, CloneUnavailable, type CloneBackup } from './clone.js';
export { dumpDatabase, type DumpBackup, type DumpCompression, type DumpOptions } from './dump.js';
export { verifyDump, type DumpCheck, type DumpToVerify } from './verify.js';
export { restoreClone, restoreDump, type RestoreOptions, type RestoreResult } from './restore.js';
export { otherSessions, describeSessions, type PgSession } from './sessions.js';
export { listSafeRunDatabases, removeLeftovers, type SafeRunDatabase } from './leftovers.js';
export { countRows, type TableCount } from './row-counts.js';
export { diffDatabases, type DatabaseDiff } from './diff.js';
export type { SchemaDiff, SchemaChange } from './schema-diff.js';
export type { TableRowDiff } from './row-diff.js';
export { readDatabaseProps, type DatabaseProps } from './database-props.js';

/**
 * What this engine can do, for the engine seam to read instead of testing the kind: a server-side clone
 * (fast, needs the database to itself and CREATEDB); restores that refuse other sessions unless forced;
 * backups that are one file (a dump) or a reference to a database on the server (a clone).
 */
export const POSTGRES_CAPABILITIES = {
  serverSideClone: true,
  restoreWhileInUse: 'with-force',
  backupForms: ['file', 'server-database'],
  diff: 'rows-by-primary-key',
} as const;
