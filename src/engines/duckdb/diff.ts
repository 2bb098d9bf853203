// What changed between two states of a DuckDB database. Both sides are ATTACHed READ_ONLY side by side
// in one scratch instance and compared in SQL: schema from DuckDB's catalog, then rows per table by
// primary key (by whole-row content without one), after a one-scan fingerprint per side has shown that
// the table changed at all. Values are compared by their JSON text, never with
// SQL `=`, which calls -0.0 and 0.0, INTERVAL '1 month' and '30 days', 'a' and 'A' under NOCASE, or a
// UNION that changed tag, equal.
import type { DuckDBConnection } from '@duckdb/node-api';
import type { DatabaseDiff, SchemaChange, TableDiff } from '../diff-types.js';
import { ident, literal, openSession, rows } from './connect.js';
import { qualified, tablesOf, type DuckdbTable } from './counts.js';
import { attachLive } from './snapshot.js';

export interface DiffEndpoint {
  label: string;
  /** The file to attach: a backup's snapshot, or the live database (then `live` is true). */
  file: string;
  live: boolean;
}

interface Shape {
  tables: Map<string, DuckdbTable>;
  /** Per table: its columns as "name type", in order. */
  columns: Map<string, string[]>;
  /** Per table: its primary key's columns (empty: none). */
  keys: Map<string, string[]>;
  /** Indexes, views, sequences and macros: "kind name" → its SQL. */
  others: Map<string, { kind: SchemaChange['kind']; name: string; sql: string }>;
}

export async function diffDuckdb(database: string, before: DiffEndpoint, after: DiffEndpoint, opts: { waitMs?: number } = {}): Promise<DatabaseDiff> {
  const started = Date.now();
  const session = await openSession(':memory:');
  try {
    const attach = async (side: DiffEndpoint, alias: string) => {
      if (side.live) await attachLive(session, side.file, alias, { waitMs: opts.waitMs ?? 0, doing: 'read it for a diff' });
      else await session.conn.run(`ATTACH ${literal(side.file)} AS ${ident(alias)} (READ_ONLY)`);
    };
    await attach(before, 'b');
    await attach(after, 'a');
    const [b, a] = [await shapeOf(session.conn, 'b'), await shapeOf(session.conn, 'a')];
    const schema: SchemaChange[] = [];
    const tables: TableDiff[] = [];
    const count = async (db: string, t: DuckdbTable) => Number(((await rows(session.conn, `SELECT count(*) FROM ${qualified(db, t)}`)) as [[bigint]])[0][0]);
    for (const [name, t] of b.tables) {
      if (a.tables.has(name)) continue;
      schema.push({ kind: 'table', name, change: 'dropped' });
      const n = await count('b', t);
      tables.push({ name, status: 'dropped', rowsBefore: n, rowsAfter: null, inserted: 0, deleted: n, updated: 0, method: 'full', key: [] });
    }
    for (const [name, t] of a.tables) {
      if (b.tables.has(name)) continue;
      schema.push({ kind: 'table', name, change: 'added' });
      const n = await count('a', t);
      tables.push({ name, status: 'added', rowsBefore: null, rowsAfter: n, inserted: n, deleted: 0, updated: 0, method: 'full', key: [] });
    }
    for (const [name, tb] of b.tables) {
      const ta = a.tables.get(name);
      if (!ta) continue;
      const colsB = b.columns.get(name)!;
      const colsA = a.columns.get(name)!;
      const namesB = colsB.map((c) => c.split('\t')[0]!);
      const namesA = colsA.map((c) => c.split('\t')[0]!);
      for (const c of colsB) {
        const n = c.split('\t')[0]!;
        if (!namesA.includes(n)) schema.push({ kind: 'column', name: `${name}.${n}`, change: 'dropped' });
        else if (!colsA.includes(c)) schema.push({ kind: 'column', name: `${name}.${n}`, change: 'changed', detail: c.split('\t')[1] + ' → ' + colsA.find((x) => x.startsWith(`${n}\t`))!.split('\t')[1] });
      }
      for (const c of colsA) {
        const n = c.split('\t')[0]!;
        if (!namesB.includes(n)) schema.push({ kind: 'column', name: `${name}.${n}`, change: 'added' });
      }
      const common = namesB.filter((n) => namesA.includes(n));
      const keyB = b.keys.get(name)!;
      const key = keyB.length > 0 && JSON.stringify(keyB) === JSON.stringify(a.keys.get(name)) && keyB.every((k) => common.includes(k)) ? keyB : [];
      tables.push(await diffTable(session.conn, name, tb, ta, common, key));
    }
    for (const [k, o] of b.others) {
      const there = a.others.get(k);
      if (!there) schema.push({ kind: o.kind, name: o.name, change: 'dropped' });
      else if (there.sql !== o.sql) schema.push({ kind: o.kind, name: o.name, change: 'changed' });
    }
    for (const [k, o] of a.others) if (!b.others.has(k)) schema.push({ kind: o.kind, name: o.name, change: 'added' });
    return {
      database,
      before: { label: before.label, userVersion: null, exists: true },
      after: { label: after.label, userVersion: null, exists: true },
      schema,
      tables: tables.sort((x, y) => x.name.localeCompare(y.name)),
      stats: { pages: 0, pagesChanged: 0, tablesSkipped: 0, ms: Date.now() - started, pageLevel: false },
    };
  } finally {
    session.close();
  }
}

async function shapeOf(conn: DuckDBConnection, db: string): Promise<Shape> {
  const shape: Shape = { tables: new Map(), columns: new Map(), keys: new Map(), others: new Map() };
  for (const t of await tablesOf(conn, db)) {
    shape.tables.set(t.name, t);
    const cols = await rows(
      conn,
      `SELECT column_name, data_type FROM duckdb_columns() WHERE database_name = ${literal(db)} AND schema_name = ${literal(t.schema)} AND table_name = ${literal(t.table)} ORDER BY column_index`,
    );
    shape.columns.set(t.name, cols.map(([n, type]) => `${n}\t${type}`));
    const pk = await rows(
      conn,
      `SELECT constraint_column_names FROM duckdb_constraints() WHERE database_name = ${literal(db)} AND schema_name = ${literal(t.schema)} AND table_name = ${literal(t.table)} AND constraint_type = 'PRIMARY KEY'`,
    );
    shape.keys.set(t.name, pk.length ? (pk[0]![0] as string[]).map(String) : []);
  }
  const where = `database_name = ${literal(db)} AND NOT internal`;
  const others: Array<[SchemaChange['kind'], string]> = [
    ['index', `SELECT schema_name, index_name, sql FROM duckdb_indexes() WHERE database_name = ${literal(db)}`],
    ['view', `SELECT schema_name, view_name, sql FROM duckdb_views() WHERE ${where}`],
  ];
  for (const [kind, sql] of others) {
    for (const [schema, name, text] of await rows(conn, sql)) {
      const shown = schema === 'main' ? String(name) : `${schema}.${name}`;
      shape.others.set(`${kind} ${shown}`, { kind, name: shown, sql: String(text ?? '') });
    }
  }
  return shape;
}

/** The JSON text of some columns of row `x`: byte-exact (collations and SQL `=` play no part). */
function exact(columns: string[]): string {
  if (columns.length === 0) return `'{}'`;
  return `CAST(to_json({${columns.map((c) => `${literal(c)}: x.${ident(c)}`).join(', ')}}) AS VARCHAR)`;
}

async function diffTable(conn: DuckDBConnection, name: string, tb: DuckdbTable, ta: DuckdbTable, common: string[], key: string[]): Promise<TableDiff> {
  const base = { name, ...(key.length ? {} : { reason: 'no primary key: rows matched by their whole content' }), method: 'full' as const, key };
  // First a fingerprint of each side (count, and the sum of every row's hash: a multiset, so that
  // duplicate rows do not cancel out as they would in a XOR): one cheap scan when nothing changed.
  const fingerprint = async (db: string, t: DuckdbTable) => (await rows(conn, `SELECT count(*), coalesce(sum(hash(${exact(common)})), 0) FROM ${qualified(db, t)} AS x`))[0]!.map(String);
  const [fb, fa] = [await fingerprint('b', tb), await fingerprint('a', ta)];
  if (fb[0] === fa[0] && fb[1] === fa[1]) {
    const n = Number(fb[0]);
    return { ...base, status: 'unchanged', rowsBefore: n, rowsAfter: n, inserted: 0, deleted: 0, updated: 0, method: 'skipped' };
  }
  // Rows are matched by the exact text of their key, and compared by a 64-bit hash of their text.
  const side = (db: string, t: DuckdbTable) =>
    key.length ? `SELECT ${exact(key)} AS k, hash(${exact(common)}) AS h FROM ${qualified(db, t)} AS x` : `SELECT ${exact(common)} AS h, count(*) AS n FROM ${qualified(db, t)} AS x GROUP BY 1`;
  const sql = key.length
    ? `WITH b AS (${side('b', tb)}), a AS (${side('a', ta)})
       SELECT count(*) FILTER (WHERE b.k IS NULL), count(*) FILTER (WHERE a.k IS NULL), count(*) FILTER (WHERE a.k IS NOT NULL AND b.k IS NOT NULL AND a.h <> b.h)
         FROM b FULL OUTER JOIN a ON a.k = b.k`
    : `WITH b AS (${side('b', tb)}), a AS (${side('a', ta)})
       SELECT coalesce(sum(greatest(coalesce(a.n, 0) - coalesce(b.n, 0), 0)), 0), coalesce(sum(greatest(coalesce(b.n, 0) - coalesce(a.n, 0), 0)), 0), 0
         FROM b FULL OUTER JOIN a ON a.h = b.h`;
  const [[ins, del, upd]] = (await rows(conn, sql)) as [[bigint, bigint, bigint]];
  const [inserted, deleted, updated] = [Number(ins), Number(del), Number(upd)];
  return {
    ...base,
    status: inserted || deleted || updated ? 'changed' : 'unchanged',
    rowsBefore: Number(fb[0]),
    rowsAfter: Number(fa[0]),
    inserted,
    deleted,
    updated,
  };
}
