// What changed between two schemas on the same server (a shadow copy or a scratch load, and the live
// database), in SQL across schemas. Values are compared as bytes (HEX of CAST … AS BINARY), never with
// the column's collation: under utf8mb4_general_ci 'abc', 'ABC' and 'abc ' are equal for `=`.
import type { DatabaseDiff, Row, SchemaChange, TableDiff } from '../diff-types.js';
import { ident, rowsOf, type MyConn } from './connect.js';
import { baseTables, type SchemaObject } from './objects.js';

interface Column {
  name: string;
  type: string;
  nullable: string;
  def: string | null;
}

async function columnsOf(c: MyConn, schema: string): Promise<Map<string, Column[]>> {
  const r = await rowsOf<{ t: string; n: string; ty: string; nu: string; d: string | null }>(
    c,
    `SELECT c.TABLE_NAME AS t, COLUMN_NAME AS n, COLUMN_TYPE AS ty, IS_NULLABLE AS nu, COLUMN_DEFAULT AS d FROM information_schema.COLUMNS c
       JOIN information_schema.TABLES t ON t.TABLE_SCHEMA = c.TABLE_SCHEMA AND t.TABLE_NAME = c.TABLE_NAME AND t.TABLE_TYPE = 'BASE TABLE'
      WHERE c.TABLE_SCHEMA = ? ORDER BY c.TABLE_NAME, ORDINAL_POSITION`,
    [schema],
  );
  const out = new Map<string, Column[]>();
  for (const x of r) out.set(x.t, [...(out.get(x.t) ?? []), { name: x.n, type: x.ty, nullable: x.nu, def: x.d }]);
  return out;
}

async function primaryKeyOf(c: MyConn, schema: string, table: string): Promise<string[]> {
  const r = await rowsOf<{ n: string }>(c, `SELECT COLUMN_NAME AS n FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? AND INDEX_NAME = 'PRIMARY' ORDER BY SEQ_IN_INDEX`, [schema, table]);
  return r.map((x) => x.n);
}

async function namesOf(c: MyConn, schema: string, sql: string): Promise<Set<string>> {
  return new Set((await rowsOf<{ n: string }>(c, sql, [schema])).map((x) => x.n));
}

const bytes = (alias: string, col: string) => `IFNULL(HEX(CAST(${alias}.${ident(col)} AS BINARY)), 'N')`;

/** Compare schema `a` (before) with schema `b` (after); `samples` changed rows kept per kind and table. */
export async function diffSchemas(
  c: MyConn,
  a: string,
  b: string,
  labels: { name: string; before: string; after: string },
  opts: { samples?: number; objectsBefore?: SchemaObject[]; objectsAfter?: SchemaObject[] } = {},
): Promise<DatabaseDiff> {
  const samples = opts.samples ?? 0;
  const started = Date.now();
  const [colsA, colsB] = [await columnsOf(c, a), await columnsOf(c, b)];
  const schema: SchemaChange[] = [];
  const tables: TableDiff[] = [];
  const count = async (s: string, t: string) => Number((await rowsOf<{ n: string }>(c, `SELECT COUNT(*) AS n FROM ${ident(s)}.${ident(t)}`))[0]!.n);
  const names = [...new Set([...(await baseTables(c, a)), ...(await baseTables(c, b))].filter((t) => !t.sequence).map((t) => t.name))].sort();
  for (const t of names) {
    const ca = colsA.get(t);
    const cb = colsB.get(t);
    const base = { name: t, inserted: 0, deleted: 0, updated: 0, method: 'full' as const, key: [] as string[] };
    if (!ca || !cb) {
      const rows = await count(ca ? a : b, t);
      schema.push({ kind: 'table', name: t, change: ca ? 'dropped' : 'added' });
      tables.push(ca ? { ...base, status: 'dropped', rowsBefore: rows, rowsAfter: null, deleted: rows } : { ...base, status: 'added', rowsBefore: null, rowsAfter: rows, inserted: rows });
      continue;
    }
    for (const col of ca) {
      const other = cb.find((x) => x.name === col.name);
      if (!other) schema.push({ kind: 'column', name: `${t}.${col.name}`, change: 'dropped' });
      else if (other.type !== col.type || other.nullable !== col.nullable || other.def !== col.def) schema.push({ kind: 'column', name: `${t}.${col.name}`, change: 'changed', detail: `${col.type} → ${other.type}` });
    }
    for (const col of cb) if (!ca.some((x) => x.name === col.name)) schema.push({ kind: 'column', name: `${t}.${col.name}`, change: 'added' });
    const [rowsBefore, rowsAfter] = [await count(a, t), await count(b, t)];
    const [ka, kb] = [await primaryKeyOf(c, a, t), await primaryKeyOf(c, b, t)];
    if (ka.length === 0 || ka.join('\0') !== kb.join('\0')) {
      tables.push({ ...base, status: rowsBefore === rowsAfter ? 'incomparable' : 'changed', reason: 'no primary key on both sides: only counted', rowsBefore, rowsAfter, inserted: Math.max(0, rowsAfter - rowsBefore), deleted: Math.max(0, rowsBefore - rowsAfter) });
      continue;
    }
    const common = ca.filter((x) => cb.some((y) => y.name === x.name)).map((x) => x.name);
    // Matched through the key's index (=), then byte for byte: a key that changed case is a delete and an insert.
    const match = (x: string, y: string) => ka.map((k) => `${y}.${ident(k)} = ${x}.${ident(k)} AND ${bytes(y, k)} = ${bytes(x, k)}`).join(' AND ');
    const missing = async (from: string, to: string) => Number((await rowsOf<{ n: string }>(c, `SELECT COUNT(*) AS n FROM ${ident(from)}.${ident(t)} x WHERE NOT EXISTS (SELECT 1 FROM ${ident(to)}.${ident(t)} y WHERE ${match('x', 'y')})`))[0]!.n);
    const deleted = await missing(a, b);
    const inserted = await missing(b, a);
    const differs = common.map((col) => `${bytes('x', col)} <> ${bytes('y', col)}`).join(' OR ') || 'FALSE';
    const updatedSql = `FROM ${ident(a)}.${ident(t)} x JOIN ${ident(b)}.${ident(t)} y ON ${match('x', 'y')} WHERE ${differs}`;
    const updated = Number((await rowsOf<{ n: string }>(c, `SELECT COUNT(*) AS n ${updatedSql}`))[0]!.n);
    const diff: TableDiff = { ...base, status: inserted + deleted + updated > 0 || ca.length !== cb.length ? 'changed' : 'unchanged', rowsBefore, rowsAfter, inserted, deleted, updated, key: ka };
    if (samples > 0 && inserted + deleted + updated > 0) {
      const pick = async (from: string, to: string) => rowsOf<Row>(c, `SELECT x.* FROM ${ident(from)}.${ident(t)} x WHERE NOT EXISTS (SELECT 1 FROM ${ident(to)}.${ident(t)} y WHERE ${match('x', 'y')}) LIMIT ${Number(samples)}`);
      const ins = await pick(b, a);
      const del = await pick(a, b);
      const pairs = await rowsOf<Record<string, unknown>>(c, `SELECT ${ka.map((k) => `x.${ident(k)} AS ${ident(k)}`).join(', ')} ${updatedSql} LIMIT ${Number(samples)}`);
      const upd: Array<{ before: Row; after: Row }> = [];
      for (const p of pairs) {
        const where = ka.map((k) => `${ident(k)} = ?`).join(' AND ');
        const params = ka.map((k) => p[k]);
        const [before] = await rowsOf<Row>(c, `SELECT * FROM ${ident(a)}.${ident(t)} WHERE ${where}`, params);
        const [after] = await rowsOf<Row>(c, `SELECT * FROM ${ident(b)}.${ident(t)} WHERE ${where}`, params);
        if (before && after) upd.push({ before, after });
      }
      diff.samples = { inserted: ins, deleted: del, updated: upd, more: Math.max(0, inserted + deleted + updated - ins.length - del.length - upd.length) };
    }
    tables.push(diff);
  }
  for (const [kind, sql] of [
    ['view', `SELECT TABLE_NAME AS n FROM information_schema.VIEWS WHERE TABLE_SCHEMA = ?`],
    ['trigger', `SELECT TRIGGER_NAME AS n FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = ?`],
  ] as const) {
    // A shadow copy keeps its views and triggers as definitions, not as objects in its schema.
    const recorded = (objects: SchemaObject[] | undefined) => (objects ? new Set(objects.filter((o) => o.kind === kind).map((o) => o.name)) : undefined);
    const na = recorded(opts.objectsBefore) ?? (await namesOf(c, a, sql));
    const nb = recorded(opts.objectsAfter) ?? (await namesOf(c, b, sql));
    for (const n of na) if (!nb.has(n)) schema.push({ kind, name: n, change: 'dropped' });
    for (const n of nb) if (!na.has(n)) schema.push({ kind, name: n, change: 'added' });
  }
  return {
    database: labels.name,
    before: { label: labels.before, userVersion: null, exists: true },
    after: { label: labels.after, userVersion: null, exists: true },
    schema,
    tables,
    stats: { pages: 0, pagesChanged: 0, tablesSkipped: 0, ms: Date.now() - started, pageLevel: false },
  };
}
