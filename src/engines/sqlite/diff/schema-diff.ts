// Schema differences between two attached schemas of one connection: objects, columns, user_version.
import type Database from 'better-sqlite3';
import { columnsOf, pairColumns } from './column-pairs.js';
import type { SchemaChange } from '../../diff-types.js';

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

/** The entries plus sqlite_sequence (AUTOINCREMENT's counters), which changes with rows and is compared like a table. */
export function withSequence(db: Database.Database, schema: string, entries: Map<string, SchemaEntry>): Map<string, SchemaEntry> {
  const seq = db.prepare(`SELECT type, name, tbl_name, rootpage, sql FROM ${schema}.sqlite_schema WHERE name = 'sqlite_sequence'`).get() as SchemaEntry | undefined;
  return seq ? new Map([...entries, [seq.name, seq]]) : entries;
}

/** Suffixes of the tables FTS3/4/5 and R*Tree keep a virtual table's content in. */
const SHADOW_SUFFIXES = ['data', 'idx', 'content', 'docsize', 'config', 'segments', 'segdir', 'stat', 'node', 'rowid', 'parent'];

/** Shadow tables: `<virtual table>_<suffix>`, the storage of a virtual table of the same schema. */
export function shadowTables(entries: Map<string, SchemaEntry>): Set<string> {
  const virtual = [...entries.values()].filter((e) => e.type === 'table' && /^\s*CREATE\s+VIRTUAL\s/i.test(e.sql ?? '')).map((e) => e.name);
  const out = new Set<string>();
  for (const v of virtual) for (const suffix of SHADOW_SUFFIXES) if (entries.has(`${v}_${suffix}`)) out.add(`${v}_${suffix}`);
  return out;
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
      // A virtual table whose module this build lacks has no columns to read: compare its definition.
      const columns = (schema: string) => {
        try {
          return columnsOf(db, schema, name);
        } catch {
          return [];
        }
      };
      const colsA = columns(before.schema);
      const colsB = columns(after.schema);
      const pairs = pairColumns(colsA, colsB);
      for (const c of colsA) {
        const p = pairs.find((x) => x.before === c.name);
        const d = p && colsB.find((x) => x.name === p.after);
        if (!p || !d) {
          changes.push({ kind: 'column', name: `${name}.${c.name}`, change: 'dropped' });
          continue;
        }
        if (p.renamed) changes.push({ kind: 'column', name: `${name}.${c.name}`, change: 'renamed', detail: d.name });
        if (d.type !== c.type || d.pk !== c.pk) {
          changes.push({ kind: 'column', name: `${name}.${d.name}`, change: 'changed', detail: `${c.type || 'ANY'} → ${d.type || 'ANY'}` });
        }
      }
      for (const d of colsB) {
        if (!pairs.some((p) => p.after === d.name)) changes.push({ kind: 'column', name: `${name}.${d.name}`, change: 'added', detail: d.type || undefined });
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
