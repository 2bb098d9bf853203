// Row differences of a table whose rows nothing identifies on both sides: the rows compared as a multiset.
import { quoteIdent } from '../../sqlite-facts.js';
import type { TableDiff } from '../../diff-types.js';
import type { Sides } from './table-diff.js';
import type { Side, TableShape } from './table-shape.js';

/**
 * Every row of both sides in one sorted pass: rows equal in every compared column (same storage class
 * and bytes) are the same row; the surplus of a row on one side is deleted or inserted. An update
 * cannot be told from a deletion and an insertion here, so `updated` is always 0.
 */
export function diffWholeRows(s: Sides, t: TableShape): Pick<TableDiff, 'inserted' | 'deleted' | 'updated'> {
  const q = quoteIdent;
  const cols = (side: Side) =>
    t.pairs.length === 0 ? '0 AS c0' : t.pairs.map((p, i) => `typeof(${q(p[side])}) AS t${i}, +${q(p[side])} COLLATE BINARY AS c${i}`).join(', ');
  const group = t.pairs.length === 0 ? 'c0' : t.pairs.map((_, i) => `t${i}, c${i}`).join(', ');
  const row = s.db
    .prepare(
      `SELECT coalesce(sum(max(nb - na, 0)), 0) AS deleted, coalesce(sum(max(na - nb, 0)), 0) AS inserted FROM (
         SELECT sum(side = 0) AS nb, sum(side = 1) AS na FROM (
           SELECT 0 AS side, ${cols('before')} FROM ${s.before}.${q(t.name)}
           UNION ALL SELECT 1, ${cols('after')} FROM ${s.after}.${q(t.name)}
         ) GROUP BY ${group})`,
    )
    .get() as { deleted: number; inserted: number };
  return { inserted: row.inserted, deleted: row.deleted, updated: 0 };
}
