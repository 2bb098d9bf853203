// What identifies a table's rows on both sides of a diff, and which columns are compared.
import type Database from 'better-sqlite3';
import { quoteIdent } from '../../sqlite-facts.js';
import { columnsOf, pairColumns, type ColumnInfo, type ColumnPair } from './column-pairs.js';

export type Side = 'before' | 'after';

export interface SideShape {
  columns: ColumnInfo[];
  withoutRowid: boolean;
  virtual: boolean;
  /**
   * A name that reaches the real rowid here: 'rowid', '_rowid_' or 'oid', whichever no column took (a
   * column named rowid hides the rowid from SQL). Undefined for WITHOUT ROWID or all three taken.
   */
  rowid?: string;
  /** Primary-key columns, with the collation the key's index compares them by; [] for none. */
  key: Array<{ name: string; coll: string }>;
  /** The key is an INTEGER PRIMARY KEY that is the rowid itself (not `INTEGER PRIMARY KEY DESC`). */
  alias: boolean;
  /** A rowid table's key that is not the rowid may hold NULLs (SQLite's legacy), and may here do. */
  nullableKey: boolean;
}

/** How rows are matched across the sides. */
export type Identity =
  /** By primary key under the key's collation; rows with a NULL in it by rowid (when `nullsByRowid`). */
  | { by: 'key'; key: Array<{ before: string; after: string; coll: string }>; nullsByRowid: boolean }
  | { by: 'rowid' }
  /** Nothing identifies rows on both sides: rows are compared as wholes (a multiset). */
  | { by: 'whole-row'; why: string };

export interface TableShape {
  name: string;
  before: SideShape;
  after: SideShape;
  /** Columns on both sides (renamed ones under each side's name): the ones whose values are compared. */
  pairs: ColumnPair[];
  identity: Identity;
  /** A stored record reads as the same row on both sides: identical pages hold identical rows. */
  sameRecords: boolean;
  /** sameRecords, and SQL can reach the rowids the page reader finds on leaf pages. */
  pageLevel: boolean;
}

const ROWID_NAMES = ['rowid', '_rowid_', 'oid'];

export function sideShape(db: Database.Database, schema: string, table: string): SideShape {
  const columns = columnsOf(db, schema, table);
  const listed = db.prepare(`PRAGMA ${schema}.table_list(${quoteIdent(table)})`).get() as { type: string; wr: number } | undefined;
  const virtual = listed?.type === 'virtual';
  const withoutRowid = listed?.wr === 1;
  const taken = new Set(columns.map((c) => c.name.toLowerCase()));
  const rowid = withoutRowid ? undefined : ROWID_NAMES.find((n) => !taken.has(n));
  // A primary key that is not the rowid has an index (origin 'pk'), which also names its collations.
  // An INTEGER PRIMARY KEY has none: it is the rowid. (`INTEGER PRIMARY KEY DESC` has one: not an alias.)
  const pkIndex = virtual
    ? undefined
    : (db.prepare(`PRAGMA ${schema}.index_list(${quoteIdent(table)})`).all() as Array<{ name: string; origin: string }>).find((i) => i.origin === 'pk');
  let key: SideShape['key'] = [];
  let alias = false;
  if (pkIndex) {
    const info = db.prepare(`PRAGMA ${schema}.index_xinfo(${quoteIdent(pkIndex.name)})`).all() as Array<{ seqno: number; name: string; coll: string; key: number }>;
    key = info.filter((c) => c.key === 1).sort((x, y) => x.seqno - y.seqno).map((c) => ({ name: c.name, coll: c.coll }));
  } else {
    const pk = columns.filter((c) => c.pk > 0);
    if (pk.length === 1 && !virtual) {
      key = [{ name: pk[0]!.name, coll: 'BINARY' }];
      alias = true;
    }
  }
  const nullableKey = !withoutRowid && !alias && key.some((k) => !columns.find((c) => c.name === k.name)?.notnull);
  return { columns, withoutRowid, virtual, rowid, key, alias, nullableKey };
}

export function tableShape(db: Database.Database, schemas: Record<Side, string>, name: string): TableShape {
  const before = holdsNullKeys(db, schemas.before, name, sideShape(db, schemas.before, name));
  const after = holdsNullKeys(db, schemas.after, name, sideShape(db, schemas.after, name));
  const pairs = pairColumns(before.columns, after.columns);
  const sameRecords = before.withoutRowid === after.withoutRowid && before.alias === after.alias && pairs.every((p) => p.samePosition);
  const pageLevel = sameRecords && Boolean(before.rowid && after.rowid) && !before.virtual && !after.virtual;
  return { name, before, after, pairs, identity: identityOf(before, after, pairs), sameRecords, pageLevel };
}

/**
 * A nullable one-column key that holds no NULL is not nullable for this diff: the key's index answers
 * in one lookup, and the diff then joins on the key alone (cheaper than the NULL-aware join). A key
 * of several columns is not searched (its later columns have no index to ask).
 */
function holdsNullKeys(db: Database.Database, schema: string, table: string, side: SideShape): SideShape {
  if (!side.nullableKey || side.key.length !== 1) return side;
  const holds = db.prepare(`SELECT EXISTS (SELECT 1 FROM ${schema}.${quoteIdent(table)} WHERE ${quoteIdent(side.key[0]!.name)} IS NULL)`).pluck().get() === 1;
  return { ...side, nullableKey: holds };
}

/**
 * The same primary key on both sides (the same columns, renames followed, under the same collations)
 * identifies rows; rows whose key holds a NULL identify nothing by key and are matched by rowid (with
 * rows of the other side whose key holds a NULL too).
 * Otherwise the rowid does, where both sides have one SQL can reach; otherwise nothing does.
 */
function identityOf(before: SideShape, after: SideShape, pairs: ColumnPair[]): Identity {
  const sameKey =
    before.key.length > 0 &&
    before.key.length === after.key.length &&
    before.key.every((k, i) => {
      const p = pairs.find((x) => x.before === k.name);
      return p !== undefined && p.after === after.key[i]!.name && k.coll.toUpperCase() === after.key[i]!.coll.toUpperCase();
    });
  const bothRowids = Boolean(before.rowid && after.rowid);
  if (sameKey) {
    // A side without NULL keys (WITHOUT ROWID, an alias, NOT NULL) leaves the other side's NULL-key rows unmatched.
    const nulls = before.nullableKey && after.nullableKey;
    if (!nulls || bothRowids) {
      const key = before.key.map((k, i) => ({ before: k.name, after: after.key[i]!.name, coll: k.coll }));
      return { by: 'key', key, nullsByRowid: nulls };
    }
  }
  if (bothRowids) return { by: 'rowid' };
  const why = before.withoutRowid || after.withoutRowid ? 'primary key changed' : 'no key, and columns hide the rowid';
  return { by: 'whole-row', why: `${why}: rows matched whole (an update is −1 +1)` };
}
