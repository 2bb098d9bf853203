// Everything one call works with: the config, the store, the log, and engines for the databases.
import type { Config, DatabaseConfig } from '../config.js';
import { SafeRunError } from '../errors.js';
import { factoryForKind, factoryForUrl, knownSchemes, schemeOf } from '../engines/all.js';
import type { Engine } from '../engines/engine.js';
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
  const factory = factoryForUrl(db.url);
  if (!factory) {
    throw new SafeRunError('config', `database "${db.name}": ${schemeOf(db.url)}:// databases are not supported`, {
      stage: 'config',
      database: db.name,
      hint: `give the path of a SQLite file, or a URL safe-run knows: ${knownSchemes().join(', ')}`,
    });
  }
  return factory.open(db.name, db.url, db.options);
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

/**
 * The engine that reopens a backup (`kind` is its manifest's `engine`) for the database it was taken of,
 * as recorded (see EngineFactory.reopen), or for the path given with --into.
 */
export async function engineForBackup(kind: string, name: string, source: string, opts: { into?: string; configured?: DatabaseConfig[] } = {}): Promise<Engine> {
  const factory = factoryForKind(kind);
  if (!factory) {
    throw new SafeRunError('restore', `backups of ${kind} databases cannot be opened by this version of safe-run`, {
      stage: 'restore',
      database: name,
      hint: 'use the safe-run version that took the backup (its manifest names it)',
    });
  }
  if (opts.into) return factory.open(name, opts.into);
  return factory.reopen(name, source, opts.configured ?? []);
}
