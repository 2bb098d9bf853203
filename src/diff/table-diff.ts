// Row-level differences of one table between two attached schemas, by primary key (or rowid).
import type Database from 'better-sqlite3';
import { quoteIdent } from '../engines/sqlite-facts.js';
import type { Row, TableDiff } from './diff-types.js';

export interface TableShape {
  name: string;
  /** Columns present on both sides: the ones whose values are compared. */
  columns: string[];
  /** Primary-key columns, or [] to identify rows by rowid. */
  pk: string[];
  withoutRowid: boolean;
}

export interface Sides {
  db: Database.Database;
  before: string;
  after: string;
}

type Counts = Pick<TableDiff, 'inserted' | 'deleted' | 'updated' | 'samples'>;

const ROWID = '__safe_run_rowid';

function sameValue(a: unknown, b: unknown): boolean {
  if (Buffer.isBuffer(a) && Buffer.isBuffer(b)) return a.equals(b);
  return a === b;
}

function sameRow(a: Row, b: Row, columns: string[]): boolean {
  return columns.every((c) => sameValue(a[c], b[c]));
}

function stripRowid(row: Row): Row {
  const { [ROWID]: _, ...rest } = row;
  return rest;
}

/** Up to `limit` changed rows per table, shared fairly among deletions, insertions and updates. */
class Samples {
  private readonly kept = { inserted: [] as Row[], deleted: [] as Row[], updated: [] as Array<{ before: Row; after: Row }> };
  readonly #limit: number;
  constructor(limit: number) {
    this.#limit = limit;
  }
  add(kind: 'inserted' | 'deleted', row: Row): void {
    if (this.kept[kind].length < this.#limit) this.kept[kind].push(stripRowid(row));
  }
  addUpdate(before: Row, after: Row): void {
    if (this.kept.updated.length < this.#limit) this.kept.updated.push({ before: stripRowid(before), after: stripRowid(after) });
  }
  /** Take turns among the kinds until `limit` rows are chosen; `total` changed rows exist in all. */
  result(total: number) {
    const out = { deleted: [] as Row[], inserted: [] as Row[], updated: [] as Array<{ before: Row; after: Row }>, more: 0 };
    let taken = 0;
    for (let i = 0; taken < this.#limit; i++) {
      let progressed = false;
      for (const kind of ['deleted', 'inserted', 'updated'] as const) {
        const item = this.kept[kind][i];
        if (item === undefined || taken >= this.#limit) continue;
        (out[kind] as unknown[]).push(item);
        taken++;
        progressed = true;
      }
      if (!progressed) break;
    }
    out.more = Math.max(0, total - taken);
    return out;
  }
}

/**
 * Compare only the candidate rows: those stored on changed leaf pages of either side. Every other row
 * sits on a page that is byte-identical and in the same tree on both sides, so it cannot differ.
 */
export function diffCandidates(s: Sides, t: TableShape, candBefore: bigint[], candAfter: bigint[], sampleLimit: number): Counts {
  const cols = t.columns.map(quoteIdent).join(', ');
  const table = quoteIdent(t.name);
  const byRowid = (schema: string) => s.db.prepare(`SELECT rowid AS ${ROWID}, ${cols} FROM ${schema}.${table} WHERE rowid = ?`);
  const keyCols = t.pk.length > 0 ? t.pk : [ROWID];
  const keyOf = (row: Row) => JSON.stringify(keyCols.map((k) => (Buffer.isBuffer(row[k]) ? (row[k] as Buffer).toString('base64') : row[k])));
  const byKey = (schema: string) =>
    t.pk.length > 0
      ? s.db.prepare(`SELECT rowid AS ${ROWID}, ${cols} FROM ${schema}.${table} WHERE ${t.pk.map((k) => `${quoteIdent(k)} IS ?`).join(' AND ')}`)
      : byRowid(schema);

  const load = (schema: string, rowids: bigint[]) => {
    const stmt = byRowid(schema);
    const rows = new Map<string, Row>();
    for (const id of rowids) {
      const row = stmt.get(id) as Row | undefined;
      if (row) rows.set(keyOf(row), row);
    }
    return rows;
  };
  const before = load(s.before, candBefore);
  const after = load(s.after, candAfter);
  const lookupBefore = byKey(s.before);
  const lookupAfter = byKey(s.after);
  const keyArgs = (row: Row) => keyCols.map((k) => row[k]);

  const samples = new Samples(sampleLimit);
  let inserted = 0;
  let deleted = 0;
  let updated = 0;
  for (const [key, a] of before) {
    const b = after.get(key) ?? (lookupAfter.get(...keyArgs(a)) as Row | undefined);
    if (!b) {
      deleted++;
      samples.add('deleted', a);
    } else if (!sameRow(a, b, t.columns)) {
      updated++;
      samples.addUpdate(a, b);
    }
  }
  for (const [key, b] of after) {
    if (before.has(key)) continue;
    const a = lookupBefore.get(...keyArgs(b)) as Row | undefined;
    if (!a) {
      inserted++;
      samples.add('inserted', b);
    } else if (!sameRow(a, b, t.columns)) {
      updated++;
      samples.addUpdate(a, b);
    }
  }
  return { inserted, deleted, updated, samples: sampleLimit > 0 ? samples.result(inserted + deleted + updated) : undefined };
}

/** Compare every row with SQL joins on the key: for tables the page-level shortcut cannot cover. */
export function diffFull(s: Sides, t: TableShape, sampleLimit: number): Counts {
  const table = quoteIdent(t.name);
  const keys = t.pk.length > 0 ? t.pk.map(quoteIdent) : ['rowid'];
  const on = keys.map((k) => `x.${k} IS y.${k}`).join(' AND ');
  const select = (alias: string) => [`${alias}.rowid AS ${ROWID}`, ...t.columns.map((c) => `${alias}.${quoteIdent(c)}`)].join(', ');
  const withoutRowidSelect = (alias: string) => t.columns.map((c) => `${alias}.${quoteIdent(c)}`).join(', ');
  const sel = t.withoutRowid ? withoutRowidSelect : select;
  const onlyIn = (x: string, y: string) => `FROM ${x}.${table} x WHERE NOT EXISTS (SELECT 1 FROM ${y}.${table} y WHERE ${on})`;
  const differs = t.columns.length > 0 ? t.columns.map((c) => `x.${quoteIdent(c)} IS NOT y.${quoteIdent(c)}`).join(' OR ') : '0';
  const joined = `FROM ${s.before}.${table} x JOIN ${s.after}.${table} y ON ${on} WHERE ${differs}`;
  const count = (sql: string) => s.db.prepare(`SELECT count(*) ${sql}`).pluck().get() as number;
  const deleted = count(onlyIn(s.before, s.after));
  const inserted = count(onlyIn(s.after, s.before));
  const updated = count(joined);
  if (sampleLimit <= 0) return { inserted, deleted, updated };
  const samples = new Samples(sampleLimit);
  for (const row of s.db.prepare(`SELECT ${sel('x')} ${onlyIn(s.before, s.after)} LIMIT ?`).all(sampleLimit) as Row[]) samples.add('deleted', row);
  for (const row of s.db.prepare(`SELECT ${sel('x')} ${onlyIn(s.after, s.before)} LIMIT ?`).all(sampleLimit) as Row[]) samples.add('inserted', row);
  const pairs = s.db.prepare(`SELECT ${sel('x')}, ${sel('y')} ${joined} LIMIT ?`).raw().all(sampleLimit) as unknown[][];
  const width = t.withoutRowid ? t.columns.length : t.columns.length + 1;
  const names = t.withoutRowid ? t.columns : [ROWID, ...t.columns];
  const toRow = (values: unknown[]) => Object.fromEntries(names.map((n, i) => [n, values[i]]));
  for (const p of pairs) samples.addUpdate(toRow(p.slice(0, width)), toRow(p.slice(width)));
  return { inserted, deleted, updated, samples: samples.result(inserted + deleted + updated) };
}
