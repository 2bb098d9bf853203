// What a run changed in a PostgreSQL database: its backup (a clone, or a dump restored to a scratch
// database) against the live database, schema first, then rows table by table.
import type pg from 'pg';
import { connectPg } from './connect.js';
import { diffTableRows, planTable, type TableRowDiff } from './row-diff.js';
import { compareSchemas, readSchema, type SchemaDiff } from './schema-diff.js';
import type { PgTarget } from './url.js';

export interface DatabaseDiff {
  schema: SchemaDiff;
  /** Tables present on both sides with at least one row inserted, deleted or updated. */
  tables: TableRowDiff[];
  /** Tables present on both sides that did not change. */
  unchanged: string[];
}

/**
 * Compare database `before` with `after` (both may be on different servers). Each side is read in one
 * REPEATABLE READ, READ ONLY transaction, so the result describes two snapshots even while others write.
 * Rows are matched by primary key (when both sides have the same one) and streamed in key order with
 * cursors, `batch` rows at a time; tables without a key are compared as multisets of row contents. Only
 * columns present on both sides are compared; added and dropped ones show in `schema`. Never writes.
 */
export async function diffDatabases(before: PgTarget, after: PgTarget, opts: { batch?: number; samples?: number } = {}): Promise<DatabaseDiff> {
  const b = await connectPg(before, { kind: 'usage', stage: 'diff' });
  let a: pg.Client | undefined;
  try {
    a = await connectPg(after, { kind: 'usage', stage: 'diff' });
    for (const c of [b, a]) await c.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    const bs = await readSchema(b);
    const as = await readSchema(a);
    const schema = compareSchemas(bs, as);
    const tables: TableRowDiff[] = [];
    const unchanged: string[] = [];
    for (const t of [...bs.keys()].filter((t) => as.has(t)).sort()) {
      const dot = t.indexOf('.');
      // Partitioned parents are compared through their partitions.
      if (!(await isPlainTable(b, t))) continue;
      const plan = await planTable(b, a, t.slice(0, dot), t.slice(dot + 1));
      const d = await diffTableRows(b, a, plan, opts);
      if (d.inserted + d.deleted + d.updated > 0) tables.push(d);
      else unchanged.push(t);
    }
    for (const c of [b, a]) await c.query('COMMIT');
    return { schema, tables, unchanged };
  } finally {
    await b.end().catch(() => {});
    await a?.end().catch(() => {});
  }
}

async function isPlainTable(c: pg.Client, qualified: string): Promise<boolean> {
  const dot = qualified.indexOf('.');
  const r = await c.query<{ k: string }>(
    `SELECT c.relkind AS k FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relname = $2`,
    [qualified.slice(0, dot), qualified.slice(dot + 1)],
  );
  return r.rows[0]?.k === 'r';
}
