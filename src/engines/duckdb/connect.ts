// Opening DuckDB: the native module loads only here, when a DuckDB database is actually used.
import type { DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';

type DuckdbModule = typeof import('@duckdb/node-api');
let loaded: Promise<DuckdbModule> | undefined;

export function duckdbModule(): Promise<DuckdbModule> {
  loaded ??= import('@duckdb/node-api');
  return loaded;
}

/** One DuckDB instance and its connection, closed together. */
export interface Session {
  conn: DuckDBConnection;
  close(): void;
}

/**
 * An instance on `file` (':memory:' for a scratch one that ATTACHes databases). Never creates a file
 * that is not there: callers check first, since DuckDB would make an empty database.
 */
export async function openSession(file: string, opts: { readOnly?: boolean } = {}): Promise<Session> {
  const { DuckDBInstance } = await duckdbModule();
  const instance: DuckDBInstance = await DuckDBInstance.create(file, opts.readOnly ? { access_mode: 'READ_ONLY' } : {});
  let conn: DuckDBConnection;
  try {
    conn = await instance.connect();
  } catch (err) {
    instance.closeSync();
    throw err;
  }
  let closed = false;
  return {
    conn,
    close() {
      if (closed) return;
      closed = true;
      conn.closeSync();
      instance.closeSync();
    },
  };
}

/** Run a query and read all its rows as plain JS values (bigints for BIGINT). */
export async function rows(conn: DuckDBConnection, sql: string): Promise<unknown[][]> {
  return (await conn.runAndReadAll(sql)).getRowsJS() as unknown[][];
}

/** A SQL string literal. */
export function literal(s: string): string {
  return `'${s.replace(/'/g, "''")}'`;
}

/** A quoted SQL identifier. */
export function ident(s: string): string {
  return `"${s.replace(/"/g, '""')}"`;
}

/** Whether a DuckDB error says a READ_ONLY open could not replay the WAL (it holds a CREATE INDEX). */
export function isWalReplayFailure(err: unknown): boolean {
  return /Failure while replaying WAL/i.test(err instanceof Error ? err.message : String(err));
}
