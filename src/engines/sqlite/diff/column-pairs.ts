// Which column before is which column after: by name, or renamed in place (what RENAME COLUMN does).
import type Database from 'better-sqlite3';
import { quoteIdent } from '../../sqlite-facts.js';

export interface ColumnInfo {
  cid: number;
  name: string;
  type: string;
  notnull: number;
  pk: number;
}

/** One column present on both sides, under its name on each side. */
export interface ColumnPair {
  before: string;
  after: string;
  renamed: boolean;
  /** Same position in the row on both sides: stored records read the same way. */
  samePosition: boolean;
}

export function columnsOf(db: Database.Database, schema: string, table: string): ColumnInfo[] {
  return db.prepare(`PRAGMA ${schema}.table_info(${quoteIdent(table)})`).all() as ColumnInfo[];
}

/**
 * Columns are matched by name (SQLite compares names case-insensitively). A column left unmatched on
 * both sides at the same position with the same declared type was renamed: ALTER TABLE … RENAME COLUMN
 * keeps both, while DROP COLUMN shifts the columns after it and ADD COLUMN appends. (Dropping the last
 * column and adding one of the same type looks the same from the schema; it is reported as a rename.)
 */
export function pairColumns(before: ColumnInfo[], after: ColumnInfo[]): ColumnPair[] {
  const key = (c: ColumnInfo) => c.name.toLowerCase();
  const pairs: ColumnPair[] = [];
  const taken = new Set<ColumnInfo>();
  const unmatched: ColumnInfo[] = [];
  for (const a of before) {
    const b = after.find((c) => key(c) === key(a));
    if (!b) {
      unmatched.push(a);
      continue;
    }
    taken.add(b);
    pairs.push({ before: a.name, after: b.name, renamed: a.name !== b.name, samePosition: a.cid === b.cid });
  }
  for (const a of unmatched) {
    const b = after.find((c) => c.cid === a.cid);
    if (!b || taken.has(b) || before.some((c) => key(c) === key(b)) || b.type.toUpperCase() !== a.type.toUpperCase()) continue;
    taken.add(b);
    pairs.push({ before: a.name, after: b.name, renamed: true, samePosition: true });
  }
  const position = new Map(after.map((c) => [c.name, c.cid]));
  return pairs.sort((x, y) => position.get(x.after)! - position.get(y.after)!);
}
