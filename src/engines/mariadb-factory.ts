// How the registry finds and opens MariaDB/MySQL: mysql:// and mariadb:// URLs. The engine and its
// client library (mysql2) load only when a MariaDB database is actually opened.
import type { EngineFactory } from './registry.js';
import { parseMyUrl } from './mariadb/url.js';

export const mariadbFactory: EngineFactory = {
  kind: 'mariadb',
  schemes: ['mysql', 'mariadb'],
  parse(url) {
    const { location, defaultName } = parseMyUrl(url);
    return { location, defaultName };
  },
  async open(name, url, options) {
    const { MariaDbEngine } = await import('./mariadb/engine.js');
    return new MariaDbEngine(name, parseMyUrl(url), options);
  },
  async reopen(name, location, configured) {
    // The backup recorded the URL without its password: the config's entry for the same database has it.
    for (const db of configured) {
      if (!/^(mysql|mariadb):\/\//i.test(db.url)) continue;
      if (parseMyUrl(db.url).location === location) return this.open(name, db.url, db.options);
    }
    return this.open(name, location);
  },
};
