// How the registry finds and opens PostgreSQL: postgres:// and postgresql:// URLs. The engine and its
// client library load only when a PostgreSQL database is actually opened.
import type { EngineFactory } from './registry.js';
import { parsePostgresUrl } from './postgres/url.js';

export const postgresFactory: EngineFactory = {
  kind: 'postgres',
  schemes: ['postgres', 'postgresql'],
  parse(url) {
    const { location, defaultName } = parsePostgresUrl(url);
    return { location, defaultName };
  },
  async open(name, url, options) {
    const { PostgresEngine } = await import('./postgres/engine.js');
    return new PostgresEngine(name, parsePostgresUrl(url), options);
  },
  async reopen(name, location, configured) {
    // The backup recorded the URL without its password: the config's entry for the same database has
    // the credentials (and the strategy); otherwise libpq's environment and ~/.pgpass supply them.
    for (const db of configured) {
      if (!/^postgres(ql)?:\/\//i.test(db.url)) continue;
      if (parsePostgresUrl(db.url).location === location) return this.open(name, db.url, db.options);
    }
    return this.open(name, location);
  },
};
