// Ground truth for the diff, written without any of its code: read every row of a table on both sides
// and count the changes row by row, values compared by storage class and exact bytes.
import Database from 'better-sqlite3';

/** How a table's rows are identified (the rules the README states). */
export type TruthIdentity =
  /** By these key columns under this collation; a row with a NULL in its key by its rowid. */
  | { by: 'key'; key: string[]; coll: 'BINARY' | 'NOCASE' | 'RTRIM' }
  | { by: 'rowid' }
  /** Nothing reaches the rowid and there is no key: rows compared as a multiset of whole rows. */
  | { by: 'whole-row' };

export interface TruthSide {
  file: string;
  table: string;
  /** Columns in the order compared, under this side's names (a renamed column under its name here). */
  columns: string[];
  identity: TruthIdentity;
  /** A name that reaches the real rowid on this side, if any. */
  rowid?: string;
}

export interface TruthCounts {
  inserted: number;
  deleted: number;
  updated: number;
  rowsBefore: number;
  rowsAfter: number;
}

const q = (name: string) => `"${name.replace(/"/g, '""')}"`;

/** A value as its storage class and exact content: 1 and 1.0 differ, 'a' and 'A' differ. */
function exact(type: string, v: unknown): string {
  if (Buffer.isBuffer(v)) return `${type}:${v.toString('hex')}`;
  if (typeof v === 'number') return `${type}:${Object.is(v, -0) ? '-0' : String(v)}`;
  return `${type}:${String(v)}`;
}

/** A key value as the key's index compares it: numbers by value, text under the collation. */
function keyed(type: string, v: unknown, coll: string): string {
  if (type === 'integer' || type === 'real') {
    const n = typeof v === 'bigint' ? v : Number(v);
    return `n:${typeof n === 'number' && Number.isInteger(n) ? BigInt(n).toString() : String(n)}`;
  }
  if (type === 'blob') return `b:${(v as Buffer).toString('hex')}`;
  let s = String(v);
  if (coll === 'NOCASE') s = s.replace(/[A-Z]/g, (c) => c.toLowerCase());
  if (coll === 'RTRIM') s = s.replace(/ +$/, '');
  return `t:${s}`;
}

/** Every row of one side: its identity (or null for whole-row tables) and its exact content. */
function readSide(side: TruthSide, readFrom: Database.Database): Array<{ id: string | null; sig: string }> {
  const cols = side.columns.flatMap((c) => [`typeof(${q(c)})`, q(c)]);
  const rid = side.identity.by === 'whole-row' ? [] : side.rowid ? [side.rowid] : [];
  const stmt = readFrom.prepare(`SELECT ${[...rid, ...cols].join(', ') || '1'} FROM ${q(side.table)}`).raw().safeIntegers(true);
  const out: Array<{ id: string | null; sig: string }> = [];
  for (const row of stmt.all() as unknown[][]) {
    const rowid = rid.length ? String(row[0]) : undefined;
    const values = row.slice(rid.length);
    const byName = new Map(side.columns.map((c, i) => [c, { type: String(values[2 * i]), v: values[2 * i + 1] }]));
    const sig = side.columns.map((c) => exact(byName.get(c)!.type, byName.get(c)!.v)).join('\u0001');
    const ident = side.identity;
    let id: string | null = null;
    if (ident.by === 'rowid') id = `r:${rowid}`;
    if (ident.by === 'key') {
      const parts = ident.key.map((k) => byName.get(k)!);
      id = parts.some((p) => p.type === 'null') ? `r:${rowid}` : `k:${parts.map((p) => keyed(p.type, p.v, ident.coll)).join('\u0001')}`;
    }
    out.push({ id, sig });
  }
  return out;
}

export function truthCounts(before: TruthSide, after: TruthSide): TruthCounts {
  const read = (side: TruthSide) => {
    const db = new Database(side.file, { readonly: true, fileMustExist: true });
    try {
      return readSide(side, db);
    } finally {
      db.close();
    }
  };
  const a = read(before);
  const b = read(after);
  const counts = { inserted: 0, deleted: 0, updated: 0, rowsBefore: a.length, rowsAfter: b.length };
  if (before.identity.by === 'whole-row') {
    const surplus = new Map<string, number>();
    for (const r of a) surplus.set(r.sig, (surplus.get(r.sig) ?? 0) + 1);
    for (const r of b) surplus.set(r.sig, (surplus.get(r.sig) ?? 0) - 1);
    for (const n of surplus.values()) n > 0 ? (counts.deleted += n) : (counts.inserted -= n);
    return counts;
  }
  const mb = new Map(b.map((r) => [r.id!, r.sig]));
  const ma = new Map(a.map((r) => [r.id!, r.sig]));
  if (ma.size !== a.length || mb.size !== b.length) throw new Error(`truth: two rows of ${before.table} share an identity`);
  for (const [id, sig] of ma) {
    if (!mb.has(id)) counts.deleted++;
    else if (mb.get(id) !== sig) counts.updated++;
  }
  for (const id of mb.keys()) if (!ma.has(id)) counts.inserted++;
  return counts;
}
