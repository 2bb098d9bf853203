// The result of comparing two states of a database: schema changes and per-table row changes.

export type Row = Record<string, unknown>;

export interface SchemaChange {
  kind: 'table' | 'index' | 'trigger' | 'view' | 'column';
  /** "users", or "users.plan" for a column. */
  name: string;
  change: 'added' | 'dropped' | 'changed' | 'renamed';
  /** For a renamed column: its new name. */
  detail?: string;
}

export interface TableDiff {
  name: string;
  /** 'incomparable': this table's rows could not be compared (see `reason`); the other tables were. */
  status: 'added' | 'dropped' | 'changed' | 'unchanged' | 'incomparable';
  /** Why the table could not be compared, or how its rows were matched when not by key or rowid. */
  reason?: string;
  rowsBefore: number | null;
  rowsAfter: number | null;
  inserted: number;
  deleted: number;
  updated: number;
  /** How rows were compared: only the rows on changed pages, every row, or not at all (no page changed). */
  method: 'pages' | 'full' | 'skipped';
  /**
   * What identifies a row: the primary key's columns (rows whose key holds a NULL are matched by
   * rowid), ["rowid"], or [] when rows are compared as wholes (nothing identifies them on both sides).
   */
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
