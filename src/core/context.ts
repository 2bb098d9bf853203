// Everything one call works with: the config, the store, the log, and engines for the databases.
import { isUrl, type Config, type DatabaseConfig } from '../config.js';
import { SafeRunError } from '../errors.js';
import type { Engine } from '../engines/engine.js';
import { SqliteEngine } from '../engines/sqlite.js';
import { OperationLog } from '../oplog/operation-log.js';
import { BackupStore } from '../store/backup-store.js';

export interface Context {
  config: Config;
  store: BackupStore;
  log: OperationLog;
  /** The directory the call was made in. */
  cwd: string;
  /** The `--config` as given explicitly on the command line (absolute), if any. */
  explicitConfig?: string;
}

export function createContext(config: Config, cwd: string, explicitConfig?: string): Context {
  return {
    config,
    store: new BackupStore(config.backupDir),
    log: new OperationLog(config.logFile),
    cwd,
    explicitConfig,
  };
}

/** The engine for a configured database, chosen by its URL. */
export async function openEngine(db: DatabaseConfig): Promise<Engine> {
  if (!isUrl(db.url)) return SqliteEngine.open(db.name, db.url);
  const scheme = db.url.slice(0, db.url.indexOf(':')).toLowerCase();
  throw new SafeRunError('config', `database "${db.name}": ${scheme}:// databases are not supported yet (SQLite only)`, {
    stage: 'config',
    database: db.name,
    hint: 'give the path of a SQLite file; PostgreSQL, MariaDB and DuckDB come in a later version',
  });
}

/**
 * Engines for the databases of one call, each database once: the same file named twice (by name and by
 * path, say) would otherwise be locked twice by the same run, which then waits for itself.
 */
export async function openEngines(databases: DatabaseConfig[]): Promise<Engine[]> {
  const engines: Engine[] = [];
  for (const db of databases) {
    const engine = await openEngine(db);
    if (!engines.some((e) => e.location === engine.location)) engines.push(engine);
  }
  return engines;
}

/** The engine for a backup's own source (as recorded, see atRecordedPath), or for the path given with --into. */
export async function engineForBackup(name: string, source: string, into?: string): Promise<Engine> {
  return into ? SqliteEngine.open(name, into) : SqliteEngine.atRecordedPath(name, source);
}
