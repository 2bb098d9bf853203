// The result of comparing two states of a database: schema changes and per-table row changes.

export type Row = Record<string, unknown>;

export interface SchemaChange {
  kind: 'table' | 'index' | 'trigger' | 'view' | 'column';
  /** "users", or "users.plan" for a column. */
  name: string;
  change: 'added' | 'dropped' | 'changed';
  detail?: string;
}

export interface TableDiff {
  name: string;
  status: 'added' | 'dropped' | 'changed' | 'unchanged';
  rowsBefore: number | null;
  rowsAfter: number | null;
  inserted: number;
  deleted: number;
  updated: number;
  /** How rows were compared: only the rows on changed pages, every row, or not at all (no page changed). */
  method: 'pages' | 'full' | 'skipped';
  /** What identifies a row: the primary key's columns, or ["rowid"]. */
  key: string[];
  /** Up to --rows N changed rows, when asked for. */
  samples?: {
    inserted: Row[];
    deleted: Row[];
    updated: Array<{ before: Row; after: Row }>;
    /** Changed rows not shown. */
    more: number;
  };
}

export interface DiffSide {
  label: string;
  userVersion: number | null;
  exists: boolean;
}

export interface DatabaseDiff {
  database: string;
  before: DiffSide;
  after: DiffSide;
  schema: SchemaChange[];
  tables: TableDiff[];
  stats: { pages: number; pagesChanged: number; tablesSkipped: number; ms: number; pageLevel: boolean };
}
