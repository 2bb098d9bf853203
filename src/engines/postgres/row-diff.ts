// Which rows of one table differ between two databases, streamed from both sides in key order through
// cursors so memory stays flat whatever the size. Values are compared by their text representation, never
// with SQL `=` (which calls 1.0 and 1.00, or 'a' and 'A' under some collations, equal).
import type pg from 'pg';
import { ident } from './connect.js';

/** Rows inserted, deleted and updated from `before` to `after` in one table. */
export interface TableRowDiff {
  table: string;
  /** How rows were matched: by primary key, or (no primary key) by the md5 of the whole row's text. */
  matchedBy: 'primary key' | 'row content';
  inserted: number;
  deleted: number;
  /** Always 0 when matched by row content: a changed row counts as one deleted and one inserted. */
  updated: number;
  /** The first few keys (as text, e.g. "(42)") of each kind, to show. */
  samples: { inserted: string[]; deleted: string[]; updated: string[] };
}

/** How one table is read on both sides. */
export interface TablePlan {
  schema: string;
  name: string;
  /** Columns present on both sides, in the `before` table's order. */
  columns: string[];
  /** Primary key columns with whether they are integers (compared numerically) or not (by UTF-8 bytes). */
  key: Array<{ column: string; integer: boolean }>;
}

/** The plan for a table: common columns, and its primary key when both sides have the same one. */
export async function planTable(before: pg.Client, after: pg.Client, schema: string, name: string): Promise<TablePlan> {
  const read = async (c: pg.Client) => {
    const rel = `${ident(schema)}.${ident(name)}`;
    const cols = await c.query<{ n: string }>('SELECT attname AS n FROM pg_attribute WHERE attrelid = $1::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum', [rel]);
    const key = await c.query<{ n: string; integer: boolean }>(
      `SELECT a.attname AS n, a.atttypid IN ('int2'::regtype, 'int4'::regtype, 'int8'::regtype) AS integer
         FROM pg_index i CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord)
         JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
        WHERE i.indrelid = $1::regclass AND i.indisprimary ORDER BY k.ord`,
      [rel],
    );
    return { columns: cols.rows.map((r) => r.n), key: key.rows.map((r) => ({ column: r.n, integer: r.integer })) };
  };
  const b = await read(before);
  const a = await read(after);
  const common = b.columns.filter((c) => a.columns.includes(c));
  const sameKey = JSON.stringify(b.key) === JSON.stringify(a.key) && b.key.every((k) => common.includes(k.column));
  return { schema, name, columns: common, key: sameKey ? b.key : [] };
}

/**
 * Compare one table on both sides. Each client must already be inside the (REPEATABLE READ) transaction
 * whose snapshot is to be compared; cursors are opened and closed within it. `batch` rows are fetched at a
 * time from each side.
 */
export async function diffTableRows(before: pg.Client, after: pg.Client, plan: TablePlan, opts: { batch?: number; samples?: number } = {}): Promise<TableRowDiff> {
  const batch = opts.batch ?? 1000;
  const maxSamples = opts.samples ?? 5;
  const table = `${plan.schema}.${plan.name}`;
  const result: TableRowDiff = { table, matchedBy: plan.key.length > 0 ? 'primary key' : 'row content', inserted: 0, deleted: 0, updated: 0, samples: { inserted: [], deleted: [], updated: [] } };
  const note = (kind: 'inserted' | 'deleted' | 'updated', key: string, n = 1) => {
    result[kind] += n;
    if (result.samples[kind].length < maxSamples) result.samples[kind].push(key);
  };
  const rel = `${ident(plan.schema)}.${ident(plan.name)}`;
  const rowText = plan.columns.length > 0 ? `ROW(${plan.columns.map((c) => `t.${ident(c)}`).join(', ')})::text` : `'()'`;
  if (plan.key.length === 0) {
    // No key: match rows by content, as a multiset of md5(row text) with a count each.
    const sql = `SELECT md5(${rowText}) COLLATE "C" AS h, count(*)::int AS n FROM ${rel} AS t GROUP BY 1 ORDER BY 1`;
    const b = rows(before, sql, batch);
    const a = rows(after, sql, batch);
    await merge(b, a, (x, y) => (x[0]! < y[0]! ? -1 : x[0]! > y[0]! ? 1 : 0), {
      onlyBefore: (x) => note('deleted', `md5 ${x[0]}`, Number(x[1])),
      onlyAfter: (y) => note('inserted', `md5 ${y[0]}`, Number(y[1])),
      both: (x, y) => {
        const d = Number(y[1]) - Number(x[1]);
        if (d > 0) note('inserted', `md5 ${x[0]}`, d);
        if (d < 0) note('deleted', `md5 ${x[0]}`, -d);
      },
    });
    return result;
  }
  // Qualified with the table alias: a bare name in ORDER BY would mean the output column (the ::text).
  const keyCols = plan.key.map((k, i) => `t.${ident(k.column)}::text AS k${i}`);
  const order = plan.key.map((k) => (k.integer ? `t.${ident(k.column)}` : `t.${ident(k.column)}::text COLLATE "C"`));
  const sql = `SELECT ${keyCols.join(', ')}, ${rowText} FROM ${rel} AS t ORDER BY ${order.join(', ')}`;
  const n = plan.key.length;
  const keyText = (r: string[]) => `(${r.slice(0, n).join(', ')})`;
  const compare = (x: string[], y: string[]) => {
    for (let i = 0; i < n; i++) {
      const c = plan.key[i]!.integer ? cmpBig(BigInt(x[i]!), BigInt(y[i]!)) : Buffer.compare(Buffer.from(x[i]!), Buffer.from(y[i]!));
      if (c !== 0) return c;
    }
    return 0;
  };
  await merge(rows(before, sql, batch), rows(after, sql, batch), compare, {
    onlyBefore: (x) => note('deleted', keyText(x)),
    onlyAfter: (y) => note('inserted', keyText(y)),
    both: (x, y) => {
      if (x[n] !== y[n]) note('updated', keyText(x));
    },
  });
  return result;
}

function cmpBig(a: bigint, b: bigint): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

let cursorSeq = 0;

/** Rows of `sql` as arrays of text, fetched `batch` at a time through a cursor. */
async function* rows(client: pg.Client, sql: string, batch: number): AsyncGenerator<string[]> {
  const cursor = `safe_run_diff_${++cursorSeq}`;
  await client.query(`DECLARE ${cursor} NO SCROLL CURSOR FOR ${sql}`);
  try {
    for (;;) {
      const r = await client.query<string[]>({ text: `FETCH ${batch} FROM ${cursor}`, rowMode: 'array' });
      if (r.rows.length === 0) return;
      yield* r.rows;
    }
  } finally {
    await client.query(`CLOSE ${cursor}`).catch(() => {});
  }
}

/** Walk two sorted streams together, calling back for rows only on one side or on both. */
async function merge(b: AsyncGenerator<string[]>, a: AsyncGenerator<string[]>, compare: (x: string[], y: string[]) => number, on: { onlyBefore(x: string[]): void; onlyAfter(y: string[]): void; both(x: string[], y: string[]): void }): Promise<void> {
  let x = await b.next();
  let y = await a.next();
  while (!x.done || !y.done) {
    const c = x.done ? 1 : y.done ? -1 : compare(x.value, y.value);
    if (c < 0) {
      on.onlyBefore(x.value as string[]);
      x = await b.next();
    } else if (c > 0) {
      on.onlyAfter(y.value as string[]);
      y = await a.next();
    } else {
      on.both(x.value as string[], y.value as string[]);
      x = await b.next();
      y = await a.next();
    }
  }
}
