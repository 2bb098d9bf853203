// What changed in the schema between two PostgreSQL databases: tables, columns, indexes, constraints,
// each compared as the text the server itself prints for it (format_type, pg_get_indexdef, …).
import type pg from 'pg';

/** One added or dropped schema item of a table present on both sides. */
export interface SchemaChange {
  table: string;
  kind: 'column' | 'index' | 'constraint';
  change: 'added' | 'dropped';
  /** The item as the server prints it: `email text`, `CREATE INDEX … ON …`, `CHECK ((balance >= 0))`. */
  detail: string;
}

export interface SchemaDiff {
  tablesAdded: string[];
  tablesDropped: string[];
  /** Changed columns show as one dropped and one added item with the same name. */
  changes: SchemaChange[];
}

/** Per table ("schema.table"), its items of each kind as printable text. */
export type SchemaFacts = Map<string, { column: string[]; index: string[]; constraint: string[] }>;

/** Read the schema of the database `client` is connected to, user tables only. */
export async function readSchema(client: pg.Client): Promise<SchemaFacts> {
  const facts: SchemaFacts = new Map();
  const tables = await client.query<{ t: string }>(
    `SELECT n.nspname || '.' || c.relname AS t FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%'
        AND NOT EXISTS (SELECT 1 FROM pg_depend d WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid AND d.deptype = 'e')`,
  );
  for (const { t } of tables.rows) facts.set(t, { column: [], index: [], constraint: [] });
  const add = (t: string, kind: 'column' | 'index' | 'constraint', detail: string) => facts.get(t)?.[kind].push(detail);
  const cols = await client.query<{ t: string; d: string }>(
    `SELECT n.nspname || '.' || c.relname AS t,
            quote_ident(a.attname) || ' ' || format_type(a.atttypid, a.atttypmod)
              || CASE WHEN a.attnotnull THEN ' NOT NULL' ELSE '' END
              || COALESCE(' DEFAULT ' || pg_get_expr(ad.adbin, ad.adrelid), '') AS d
       FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
       LEFT JOIN pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
      WHERE a.attnum > 0 AND NOT a.attisdropped AND c.relkind IN ('r', 'p') ORDER BY a.attnum`,
  );
  for (const r of cols.rows) add(r.t, 'column', r.d);
  const idx = await client.query<{ t: string; d: string }>(
    `SELECT n.nspname || '.' || c.relname AS t, pg_get_indexdef(i.indexrelid) AS d
       FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid JOIN pg_namespace n ON n.oid = c.relnamespace`,
  );
  for (const r of idx.rows) add(r.t, 'index', r.d);
  const con = await client.query<{ t: string; d: string }>(
    `SELECT n.nspname || '.' || c.relname AS t, quote_ident(k.conname) || ' ' || pg_get_constraintdef(k.oid) AS d
       FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace`,
  );
  for (const r of con.rows) add(r.t, 'constraint', r.d);
  return facts;
}

/** The difference from `before` to `after`, sorted by table, kind and text. */
export function compareSchemas(before: SchemaFacts, after: SchemaFacts): SchemaDiff {
  const tablesAdded = [...after.keys()].filter((t) => !before.has(t)).sort();
  const tablesDropped = [...before.keys()].filter((t) => !after.has(t)).sort();
  const changes: SchemaChange[] = [];
  for (const table of [...before.keys()].filter((t) => after.has(t)).sort()) {
    for (const kind of ['column', 'index', 'constraint'] as const) {
      const b = new Set(before.get(table)![kind]);
      const a = new Set(after.get(table)![kind]);
      for (const d of [...b].filter((x) => !a.has(x)).sort()) changes.push({ table, kind, change: 'dropped', detail: d });
      for (const d of [...a].filter((x) => !b.has(x)).sort()) changes.push({ table, kind, change: 'added', detail: d });
    }
  }
  return { tablesAdded, tablesDropped, changes };
}
