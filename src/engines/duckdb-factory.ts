// How the registry finds and opens DuckDB: duckdb: URLs, and plain paths ending in .duckdb. The engine
// and its native module load only when a DuckDB database is actually opened.
import path from 'node:path';
import { noStrategies } from './no-strategies.js';
import type { EngineFactory } from './registry.js';

const EXTENSION = /\.duckdb$/i;

/** duckdb:///abs/app.duckdb (as the config writes it), duckdb:app.duckdb or a plain path → the path. */
function pathOf(url: string): string {
  return decodeURIComponent(url.replace(/[?#].*$/s, '').replace(/^duckdb:(\/\/)?/i, ''));
}

export const duckdbFactory: EngineFactory = {
  kind: 'duckdb',
  schemes: ['duckdb'],
  claimsPath: (p) => EXTENSION.test(p.replace(/[?#].*$/s, '')),
  parse(url, baseDir) {
    const file = path.resolve(baseDir, pathOf(url));
    return { location: file, defaultName: path.basename(file).replace(EXTENSION, '') };
  },
  async open(name, url, options) {
    const refused = noStrategies('DuckDB', name, options);
    if (refused) throw refused;
    const { DuckdbEngine } = await import('./duckdb/engine.js');
    return DuckdbEngine.open(name, pathOf(url));
  },
  async reopen(name, location) {
    // Taken as recorded (resolved when the backup was taken), like SQLite's.
    const { DuckdbEngine } = await import('./duckdb/engine.js');
    return new DuckdbEngine(name, path.resolve(location));
  },
};
