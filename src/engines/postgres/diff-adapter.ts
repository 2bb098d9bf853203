// PostgreSQL's diff (diff.ts) in the shape every engine's diff has (diff-types), so that `safe-run diff`,
// the summary after a run and the restore preview render it like SQLite's.
import type { DatabaseDiff, SchemaChange, TableDiff } from '../diff-types.js';
import type { DiffOptions } from '../engine.js';
import { connectPg } from './connect.js';
import { diffDatabases } from './diff.js';
import { countRows } from './row-counts.js';
import type { PgTarget } from './url.js';

export async function toSafeRunDiff(name: string, beforeLabel: string, afterLabel: string, before: PgTarget, after: PgTarget, opts: DiffOptions): Promise<DatabaseDiff> {
  const started = Date.now();
  const d = await diffDatabases(before, after, { samples: opts.rows ?? 0 });
  const [countsBefore, countsAfter] = await Promise.all([countsIn(before), countsIn(after)]);
  const rows = (counts: Map<string, number>, t: string) => counts.get(t) ?? null;
  const schema: SchemaChange[] = [
    ...d.schema.tablesAdded.map((t) => ({ kind: 'table' as const, name: t, change: 'added' as const })),
    ...d.schema.tablesDropped.map((t) => ({ kind: 'table' as const, name: t, change: 'dropped' as const })),
    ...d.schema.changes.map((c) => ({
      kind: c.kind === 'column' ? ('column' as const) : ('index' as const),
      name: c.kind === 'column' ? `${c.table}.${c.detail.split(' ')[0]}` : c.table,
      change: c.change,
      detail: c.detail,
    })),
  ];
  const tables: TableDiff[] = [
    ...d.tables.map((t) => ({
      name: t.table,
      status: 'changed' as const,
      rowsBefore: rows(countsBefore, t.table),
      rowsAfter: rows(countsAfter, t.table),
      inserted: t.inserted,
      deleted: t.deleted,
      updated: t.updated,
      method: 'full' as const,
      key: t.matchedBy === 'primary key' ? ['primary key'] : ['row content'],
    })),
    ...d.unchanged.map((t) => ({
      name: t,
      status: 'unchanged' as const,
      rowsBefore: rows(countsBefore, t),
      rowsAfter: rows(countsAfter, t),
      inserted: 0,
      deleted: 0,
      updated: 0,
      method: 'full' as const,
      key: [],
    })),
    ...d.schema.tablesAdded.map((t) => ({ name: t, status: 'added' as const, rowsBefore: null, rowsAfter: rows(countsAfter, t), inserted: rows(countsAfter, t) ?? 0, deleted: 0, updated: 0, method: 'full' as const, key: [] })),
    ...d.schema.tablesDropped.map((t) => ({ name: t, status: 'dropped' as const, rowsBefore: rows(countsBefore, t), rowsAfter: null, inserted: 0, deleted: rows(countsBefore, t) ?? 0, updated: 0, method: 'full' as const, key: [] })),
  ].sort((a, b) => a.name.localeCompare(b.name));
  return {
    database: name,
    before: { label: beforeLabel, userVersion: null, exists: true },
    after: { label: afterLabel, userVersion: null, exists: true },
    schema,
    tables,
    stats: { pages: 0, pagesChanged: 0, tablesSkipped: 0, ms: Date.now() - started, pageLevel: false },
  };
}

async function countsIn(target: PgTarget): Promise<Map<string, number>> {
  const c = await connectPg(target, { kind: 'usage', stage: 'diff' });
  try {
    await c.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    return new Map((await countRows(c)).map((t) => [t.table, t.rows]));
  } finally {
    await c.end().catch(() => undefined);
  }
}
