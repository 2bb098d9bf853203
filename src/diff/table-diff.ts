// Row-level differences of one table between two attached schemas, by primary key (or rowid).
import type Database from 'better-sqlite3';
import { quoteIdent } from '../engines/sqlite-facts.js';
import type { RowidRange } from './btree.js';
import type { Row, TableDiff } from './diff-types.js';

export interface TableShape {
  name: string;
  /** Columns present on both sides: the ones whose values are compared. */
  columns: string[];
  /** Primary-key columns, or [] to identify rows by rowid. */
  pk: string[];
  withoutRowid: boolean;
  /** An INTEGER PRIMARY KEY column is the rowid under another name. */
  rowidAlias: boolean;
}

export interface Sides {
  db: Database.Database;
  before: string;
  after: string;
}

type Counts = Pick<TableDiff, 'inserted' | 'deleted' | 'updated' | 'samples'>;


/** Up to `limit` changed rows per table, shared fairly among deletions, insertions and updates. */
class Samples {
  private readonly kept = { inserted: [] as Row[], deleted: [] as Row[], updated: [] as Array<{ before: Row; after: Row }> };
  readonly #limit: number;
  constructor(limit: number) {
    this.#limit = limit;
  }
  add(kind: 'inserted' | 'deleted', row: Row): void {
    if (this.kept[kind].length < this.#limit) this.kept[kind].push(row);
  }
  addUpdate(before: Row, after: Row): void {
    if (this.kept.updated.length < this.#limit) this.kept.updated.push({ before, after });
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
 * Compare rows with SQL on both attached schemas, joined on the key: deleted (only before), inserted
 * (only after), updated (on both, some compared column differs). With `scope`, only the rows in the
 * rowid ranges of changed leaf pages are looked at: every other row sits on a page that is
 * byte-identical and in the same tree on both sides, so it cannot differ. A deleted or updated row was
 * on a changed page before, an inserted one is on a changed page after, so each range set is searched
 * for its own kinds only. Without `scope`, every row is compared (what sqldiff does).
 */
export function diffRows(s: Sides, t: TableShape, scope: { before: RowidRange[]; after: RowidRange[] } | undefined, sampleLimit: number): Counts {
  const table = quoteIdent(t.name);
  const on = t.pk.length > 0 ? t.pk.map((k) => `x.${quoteIdent(k)} IS y.${quoteIdent(k)}`).join(' AND ') : 'x.rowid = y.rowid';
  const differs = t.columns.length > 0 ? t.columns.map((c) => `x.${quoteIdent(c)} IS NOT y.${quoteIdent(c)}`).join(' OR ') : '0';
  // The ranges go in as one JSON array, so each query runs once (SQLite walks the ranges itself)
  // instead of once per changed page. Rowids beyond 2^53 do not survive JSON: then one query per range.
  const inJson = scope !== undefined && [...scope.before, ...scope.after].every(([lo, hi]) => safe(lo) && safe(hi));
  const rows = (schema: string) =>
    !scope
      ? `FROM ${schema}.${table} x`
      : inJson
        ? `FROM json_each(?) r JOIN ${schema}.${table} x ON x.rowid BETWEEN r.value ->> 0 AND r.value ->> 1`
        : `FROM ${schema}.${table} x JOIN (SELECT ? AS lo, ? AS hi) r ON x.rowid BETWEEN r.lo AND r.hi`;
  const sql = {
    deleted: `${rows(s.before)} WHERE NOT EXISTS (SELECT 1 FROM ${s.after}.${table} y WHERE ${on})`,
    inserted: `${rows(s.after)} WHERE NOT EXISTS (SELECT 1 FROM ${s.before}.${table} y WHERE ${on})`,
    updated: `${rows(s.before)} JOIN ${s.after}.${table} y ON ${on} WHERE (${differs})`,
  };
  // A deleted or updated row was on a changed page before; an inserted one is on a changed page after.
  const argsFor = (kind: keyof typeof sql): unknown[][] => {
    if (!scope) return [[]];
    const ranges = kind === 'inserted' ? scope.after : scope.before;
    if (inJson) return [[JSON.stringify(ranges.map(([lo, hi]) => [Number(lo), Number(hi)]))]];
    return ranges.map(([lo, hi]) => [lo, hi]);
  };
  const count = (kind: keyof typeof sql) => {
    const stmt = s.db.prepare(`SELECT count(*) ${sql[kind]}`).pluck();
    let n = 0;
    for (const args of argsFor(kind)) n += stmt.get(...args) as number;
    return n;
  };
  const counts = { inserted: count('inserted'), deleted: count('deleted'), updated: count('updated') };
  if (sampleLimit <= 0) return counts;

  // Rows keep their rowid (as "rowid") where it is what identifies them: tables without a primary key.
  const keepRowid = !t.withoutRowid && t.pk.length === 0 && !t.columns.some((c) => c.toLowerCase() === 'rowid') && !t.rowidAlias;
  const names = keepRowid ? ['rowid', ...t.columns] : t.columns;
  const sel = (alias: string) => [...(keepRowid ? [`${alias}.rowid`] : []), ...t.columns.map((c) => `${alias}.${quoteIdent(c)}`)].join(', ');
  const fetch = (kind: keyof typeof sql, select: string): unknown[][] => {
    const stmt = s.db.prepare(`SELECT ${select} ${sql[kind]} LIMIT ?`).raw();
    const out: unknown[][] = [];
    for (const args of argsFor(kind)) {
      if (out.length >= sampleLimit) break;
      out.push(...(stmt.all(...args, sampleLimit - out.length) as unknown[][]));
    }
    return out;
  };
  const toRow = (values: unknown[]) => Object.fromEntries(names.map((n, i) => [n, values[i]]));
  const samples = new Samples(sampleLimit);
  for (const v of fetch('deleted', sel('x'))) samples.add('deleted', toRow(v));
  for (const v of fetch('inserted', sel('x'))) samples.add('inserted', toRow(v));
  for (const v of fetch('updated', `${sel('x')}, ${sel('y')}`)) samples.addUpdate(toRow(v.slice(0, names.length)), toRow(v.slice(names.length)));
  return { ...counts, samples: samples.result(counts.inserted + counts.deleted + counts.updated) };
}

const safe = (n: bigint) => n <= BigInt(Number.MAX_SAFE_INTEGER) && n >= BigInt(Number.MIN_SAFE_INTEGER);
