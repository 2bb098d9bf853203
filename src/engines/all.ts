// Every engine safe-run knows, registered once. Engines load their own modules only when opened, so a
// command that never touches PostgreSQL never loads its client.
import { registerEngine } from './registry.js';
import { duckdbFactory } from './duckdb-factory.js';
import { mariadbFactory } from './mariadb-factory.js';
import { postgresFactory } from './postgres-factory.js';
import { sqliteFactory } from './sqlite-factory.js';

registerEngine(sqliteFactory);
registerEngine(postgresFactory);
registerEngine(duckdbFactory);
registerEngine(mariadbFactory);

export * from './registry.js';
