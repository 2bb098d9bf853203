// How the registry finds and opens SQLite: plain paths, sqlite: and file: URLs.
import path from 'node:path';
import { noStrategies } from './no-strategies.js';
import type { EngineFactory } from './registry.js';

/** File extensions that only say "SQLite", dropped from a default name. */
const EXTENSIONS = /\.(sqlite3?|db3?|s3db)$/i;

export const sqliteFactory: EngineFactory = {
  kind: 'sqlite',
  schemes: ['sqlite', 'file'],
  takesPaths: true,
  parse(url, baseDir) {
    const file = path.resolve(baseDir, url.replace(/^(sqlite|file):(\/\/)?/i, ''));
    const stem = path.basename(file).replace(EXTENSIONS, '');
    return { location: file, defaultName: stem };
  },
  async open(name, url, options) {
    const refused = noStrategies('SQLite', name, options);
    if (refused) throw refused;
    const { SqliteEngine } = await import('./sqlite.js');
    return SqliteEngine.open(name, url);
  },
  async reopen(name, location) {
    const { SqliteEngine } = await import('./sqlite.js');
    return SqliteEngine.atRecordedPath(name, location);
  },
};
