// Row-level differences of one table between two attached schemas, by primary key (or rowid).
import type Database from 'better-sqlite3';
import { quoteIdent } from '../../sqlite-facts.js';
import type { RowidRange } from './btree.js';
import type { Row, TableDiff } from '../../diff-types.js';
import type { Side, TableShape } from './table-shape.js';

export interface Sides {
  db: Database.Database;
  /** The schema name ('main' or 'other') of each side. */
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
 * Compare rows with SQL on both attached schemas, matched by identity (table-shape.ts): deleted (only
 * before), inserted (only after), updated (on both, some compared column differs). With `scope`, only
 * the rows in the rowid ranges of changed leaf pages are looked at: every other row sits on a page that
 * is byte-identical and in the same tree on both sides, so it cannot differ. A deleted or updated row
 * was on a changed page before, an inserted one is on a changed page after, so each range set is
 * searched for its own kinds only. Without `scope`, every row is compared (what sqldiff does).
 */
export function diffRows(s: Sides, t: TableShape, scope: { before: RowidRange[]; after: RowidRange[] } | undefined, sampleLimit: number): Counts {
  const q = quoteIdent;
  const from = (side: Side) => `${s[side]}.${q(t.name)}`;
  const other = (side: Side): Side => (side === 'before' ? 'after' : 'before');
  const rid = (side: Side) => t[side].rowid!;
  const id = t.identity;
  if (id.by === 'whole-row') throw new Error('rows compared as wholes have no identity to join on');
  /** Conditions under which row `y` (side `ys`) is the row `x` (side `xs`). */
  const keyEq = (y: string, xs: Side) => id.by === 'key' ? id.key.map((k) => `${y}.${q(k[other(xs)])} = x.${q(k[xs])} COLLATE ${q(k.coll)}`).join(' AND ') : `${y}.${rid(other(xs))} = x.${rid(xs)}`;
  const hasNull = (a: string, side: Side) => (id.by === 'key' ? id.key.map((k) => `${a}.${q(k[side])} IS NULL`).join(' OR ') : '0');
  const nulls = id.by === 'key' && id.nullsByRowid;
  /** `x` has a match on the other side: by key, or (its key holding a NULL) by rowid among the other side's NULL-key rows. */
  const matched = (xs: Side) => {
    const ys = other(xs);
    const byKey = `EXISTS (SELECT 1 FROM ${from(ys)} y WHERE ${keyEq('y', xs)})`;
    if (!nulls) return byKey;
    return `${byKey} OR ((${hasNull('x', xs)}) AND EXISTS (SELECT 1 FROM ${from(ys)} y WHERE y.${rid(ys)} = x.${rid(xs)} AND (${hasNull('y', ys)})))`;
  };
  // One lookup per row either way; the CASE keeps the NULL-key rows off the key's index.
  const joinAfter = nulls
    ? `JOIN ${from('after')} y ON y.${rid('after')} = CASE WHEN ${hasNull('x', 'before')} THEN (SELECT y2.${rid('after')} FROM ${from('after')} y2 WHERE y2.${rid('after')} = x.${rid('before')} AND (${hasNull('y2', 'after')})) ELSE (SELECT y2.${rid('after')} FROM ${from('after')} y2 WHERE ${keyEq('y2', 'before')}) END`
    : `JOIN ${from('after')} y ON ${keyEq('y', 'before')}`;
  // A value changed when its storage class or its bytes did: typeof tells 1 from 1.0, and `+` (no
  // affinity) with COLLATE BINARY compares text byte for byte whatever the column's collation.
  const differs = t.pairs.length > 0 ? t.pairs.map((p) => `typeof(x.${q(p.before)}) IS NOT typeof(y.${q(p.after)}) OR +x.${q(p.before)} IS NOT +y.${q(p.after)} COLLATE BINARY`).join(' OR ') : '0';
  // The ranges go in as one JSON array, so each query runs once (SQLite walks the ranges itself)
  // instead of once per changed page. Rowids beyond 2^53 do not survive JSON: then one query per range.
  const inJson = scope !== undefined && [...scope.before, ...scope.after].every(([lo, hi]) => safe(lo) && safe(hi));
  const rows = (side: Side) =>
    !scope
      ? `FROM ${from(side)} x`
      : inJson
        ? `FROM json_each(?) r JOIN ${from(side)} x ON x.${rid(side)} BETWEEN r.value ->> 0 AND r.value ->> 1`
        : `FROM ${from(side)} x JOIN (SELECT ? AS lo, ? AS hi) r ON x.${rid(side)} BETWEEN r.lo AND r.hi`;
  const sql = {
    deleted: `${rows('before')} WHERE NOT (${matched('before')})`,
    inserted: `${rows('after')} WHERE NOT (${matched('after')})`,
    updated: `${rows('before')} ${joinAfter} WHERE (${differs})`,
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

  // Rows keep their rowid (as "rowid") where it is what identifies them.
  const keepRowid = id.by === 'rowid';
  const names = [...(keepRowid ? ['rowid'] : []), ...t.pairs.map((p) => p.after)];
  const sel = (alias: string, side: Side) => [...(keepRowid ? [`${alias}.${rid(side)}`] : []), ...t.pairs.map((p) => `${alias}.${q(p[side])}`)].join(', ');
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
  for (const v of fetch('deleted', sel('x', 'before'))) samples.add('deleted', toRow(v));
  for (const v of fetch('inserted', sel('x', 'after'))) samples.add('inserted', toRow(v));
  for (const v of fetch('updated', `${sel('x', 'before')}, ${sel('y', 'after')}`)) samples.addUpdate(toRow(v.slice(0, names.length)), toRow(v.slice(names.length)));
  return { ...counts, samples: samples.result(counts.inserted + counts.deleted + counts.updated) };
}

const safe = (n: bigint) => n <= BigInt(Number.MAX_SAFE_INTEGER) && n >= BigInt(Number.MIN_SAFE_INTEGER);
