// Exact row counts of every user table, the facts a backup records and a restore is checked against.
import type pg from 'pg';
import { SafeRunError, type ErrorKind } from '../../errors.js';
import { ident } from './connect.js';

/** One table ("schema.table") and its exact row count. */
export interface TableCount {
  table: string;
  rows: number;
}

/**
 * Every ordinary table outside the system schemas and not owned by an extension, as schema and name,
 * sorted. Partitioned parents are left out (their partitions are counted), so rows are not counted twice.
 */
export async function userTables(client: pg.Client): Promise<Array<{ schema: string; name: string }>> {
  const r = await client.query<{ schema: string; name: string }>(
    `SELECT n.nspname AS schema, c.relname AS name
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%'
        AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')
      ORDER BY 1, 2`,
  );
  return r.rows;
}

/**
 * count(*) of every user table, in whatever transaction `client` is in: run it inside the REPEATABLE READ
 * transaction whose snapshot a dump uses, and the counts describe exactly that dump.
 */
export async function countRows(client: pg.Client): Promise<TableCount[]> {
  const out: TableCount[] = [];
  for (const t of await userTables(client)) {
    const r = await client.query<{ n: string }>(`SELECT count(*)::text AS n FROM ${ident(t.schema)}.${ident(t.name)}`);
    out.push({ table: `${t.schema}.${t.name}`, rows: Number(r.rows[0]!.n) });
  }
  return out;
}

/** The differences between two sets of counts, as phrases ("public.a: 10 rows, expected 12"); [] when equal. */
export function countDifferences(actual: TableCount[], expected: TableCount[]): string[] {
  const got = new Map(actual.map((t) => [t.table, t.rows]));
  const want = new Map(expected.map((t) => [t.table, t.rows]));
  const out: string[] = [];
  for (const [table, rows] of want) {
    const g = got.get(table);
    if (g === undefined) out.push(`${table}: missing`);
    else if (g !== rows) out.push(`${table}: ${g} rows, expected ${rows}`);
  }
  for (const table of got.keys()) if (!want.has(table)) out.push(`${table}: not expected`);
  return out;
}

/** Throw a SafeRunError when the counts differ, naming the first few tables that do. */
export function assertSameCounts(actual: TableCount[], expected: TableCount[], ctx: { kind: ErrorKind; stage: string; database?: string; what: string }): void {
  const diffs = countDifferences(actual, expected);
  if (diffs.length === 0) return;
  throw new SafeRunError(ctx.kind, `${ctx.what}: row counts differ: ${diffs.slice(0, 5).join('; ')}${diffs.length > 5 ? ` and ${diffs.length - 5} more` : ''}`, {
    stage: ctx.stage,
    database: ctx.database,
    hint: 'the copy is not what was backed up: do not rely on it; take the backup again',
  });
}
