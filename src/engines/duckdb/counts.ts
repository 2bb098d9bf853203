// The user tables of an attached DuckDB database and their row counts: what a backup records of its
// source and what verification compares the copy with.
import type { DuckDBConnection } from '@duckdb/node-api';
import type { CheckLevel } from '../../config.js';
import { ident, literal, rows } from './connect.js';

export interface DuckdbTable {
  schema: string;
  table: string;
  /** "accounts", or "sales.orders" outside the main schema. */
  name: string;
}

export interface TableCount {
  name: string;
  rows: number;
}

/** The user tables of database `db` (an ATTACH alias or the instance's own), sorted by name. */
export async function tablesOf(conn: DuckDBConnection, db: string): Promise<DuckdbTable[]> {
  const found = await rows(
    conn,
    `SELECT schema_name, table_name FROM duckdb_tables() WHERE database_name = ${literal(db)} AND NOT internal AND NOT temporary ORDER BY 1, 2`,
  );
  return found.map(([schema, table]) => ({ schema: String(schema), table: String(table), name: schema === 'main' ? String(table) : `${schema}.${table}` }));
}

export function qualified(db: string, t: DuckdbTable): string {
  return `${ident(db)}.${ident(t.schema)}.${ident(t.table)}`;
}

/**
 * Row counts of every table. At `full` every column of every row is read too (a hash of each row), so
 * that every block of the file is read and its checksum verified by DuckDB.
 */
export async function countTables(conn: DuckDBConnection, db: string, level: CheckLevel = 'quick'): Promise<TableCount[]> {
  const counts: TableCount[] = [];
  for (const t of await tablesOf(conn, db)) {
    const sql = level === 'full' ? `SELECT count(*), bit_xor(hash(x)) FROM ${qualified(db, t)} AS x` : `SELECT count(*) FROM ${qualified(db, t)}`;
    const [[n]] = (await rows(conn, sql)) as [[bigint]];
    counts.push({ name: t.name, rows: Number(n) });
  }
  return counts;
}

/** How two sets of counts differ, one phrase per table ("accounts: 500 rows, the source had 499"). */
export function countDifferences(actual: TableCount[], expected: TableCount[]): string[] {
  const out: string[] = [];
  for (const e of expected) {
    const a = actual.find((x) => x.name === e.name);
    if (!a) out.push(`table ${e.name} is missing`);
    else if (a.rows !== e.rows) out.push(`${e.name}: ${a.rows} rows, the source had ${e.rows}`);
  }
  for (const a of actual) if (!expected.some((e) => e.name === a.name)) out.push(`table ${a.name} was not in the source`);
  return out;
}
