// A SQLite backup opened read-only for export: its schema, and every table's rows streamed with iterate().
import Database from 'better-sqlite3';
import type { ExportTable, SnapshotExport } from '../engine.js';

/** SQL identifier quoting: any name (spaces, quotes, unicode) becomes a safe identifier. */
function ident(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/**
 * Open `file` (a snapshot: never written to) for export. Virtual tables are left out: their module may
 * not be loaded here, and their content lives in ordinary shadow tables, which are exported.
 */
export function openSqliteExport(file: string): SnapshotExport {
  // readonly + fileMustExist: an export never creates or changes a backup. A snapshot is a rollback-
  // journal file (its WAL was folded in when it was taken), so a read-only open leaves nothing beside it.
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    const entries = db
      .prepare("SELECT type, name, sql FROM sqlite_schema WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY rowid")
      .all() as Array<{ type: string; name: string; sql: string }>;
    const tables: ExportTable[] = entries
      .filter((e) => e.type === 'table' && !/^\s*CREATE\s+VIRTUAL\s/i.test(e.sql))
      .map((e) => {
        // table_xinfo also lists generated columns (hidden 2 and 3), which SELECT * returns; hidden 1 is
        // a virtual table's hidden column, never part of an ordinary table.
        const info = db.prepare(`SELECT name, type, hidden FROM pragma_table_xinfo(?)`).all(e.name) as Array<{ name: string; type: string; hidden: number }>;
        const columns = info.filter((c) => c.hidden !== 1).map((c) => ({ name: c.name, type: c.type }));
        const select = `SELECT ${columns.map((c) => ident(c.name)).join(', ')} FROM ${ident(e.name)}`;
        return {
          name: e.name,
          columns,
          // safeIntegers: an INTEGER beyond 2^53 comes out exact (as a bigint), never rounded.
          rows: () => db.prepare(select).raw(true).safeIntegers(true).iterate() as Iterable<unknown[]>,
        };
      });
    let closed = false;
    return {
      schema: entries.map((e) => `${e.sql};`),
      tables,
      close: async () => {
        if (!closed) db.close();
        closed = true;
      },
    };
  } catch (err) {
    db.close();
    throw err;
  }
}
