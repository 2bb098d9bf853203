// Schema differences between two attached schemas of one connection: objects, columns, user_version.
import type Database from 'better-sqlite3';
import { quoteIdent } from '../engines/sqlite-facts.js';
import type { SchemaChange } from './diff-types.js';

export interface SchemaEntry {
  type: string;
  name: string;
  tbl_name: string;
  rootpage: number;
  sql: string | null;
}

export function schemaOf(db: Database.Database, schema: string): Map<string, SchemaEntry> {
  const rows = db
    .prepare(`SELECT type, name, tbl_name, rootpage, sql FROM ${schema}.sqlite_schema WHERE name NOT LIKE 'sqlite\\_%' ESCAPE '\\'`)
    .all() as SchemaEntry[];
  return new Map(rows.map((r) => [r.name, r]));
}

export function columnsOf(db: Database.Database, schema: string, table: string): Array<{ name: string; type: string; pk: number }> {
  return db.prepare(`PRAGMA ${schema}.table_info(${quoteIdent(table)})`).all() as Array<{ name: string; type: string; pk: number }>;
}

export function compareSchemas(
  db: Database.Database,
  before: { schema: string; entries: Map<string, SchemaEntry> },
  after: { schema: string; entries: Map<string, SchemaEntry> },
): SchemaChange[] {
  const changes: SchemaChange[] = [];
  const kindOf = (t: string) => (t === 'table' || t === 'index' || t === 'trigger' || t === 'view' ? t : 'table');
  for (const [name, a] of before.entries) {
    const b = after.entries.get(name);
    if (!b || b.type !== a.type) {
      changes.push({ kind: kindOf(a.type), name, change: 'dropped' });
      continue;
    }
    if (a.type === 'table') {
      const colsA = columnsOf(db, before.schema, name);
      const colsB = columnsOf(db, after.schema, name);
      for (const c of colsA) {
        const d = colsB.find((x) => x.name === c.name);
        if (!d) changes.push({ kind: 'column', name: `${name}.${c.name}`, change: 'dropped' });
        else if (d.type !== c.type || d.pk !== c.pk) {
          changes.push({ kind: 'column', name: `${name}.${c.name}`, change: 'changed', detail: `${c.type || 'ANY'} → ${d.type || 'ANY'}` });
        }
      }
      for (const d of colsB) {
        if (!colsA.some((c) => c.name === d.name)) changes.push({ kind: 'column', name: `${name}.${d.name}`, change: 'added', detail: d.type || undefined });
      }
      if (changes.every((c) => !c.name.startsWith(`${name}.`)) && normalise(a.sql) !== normalise(b.sql)) {
        changes.push({ kind: 'table', name, change: 'changed', detail: 'definition changed' });
      }
    } else if (normalise(a.sql) !== normalise(b.sql)) {
      changes.push({ kind: kindOf(a.type), name, change: 'changed' });
    }
  }
  for (const [name, b] of after.entries) {
    const a = before.entries.get(name);
    if (!a || a.type !== b.type) changes.push({ kind: kindOf(b.type), name, change: 'added' });
  }
  return changes;
}

function normalise(sql: string | null): string {
  return (sql ?? '').replace(/\s+/g, ' ').trim();
}
