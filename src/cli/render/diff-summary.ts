// Plain-text summaries of a diff (no colours, no terminal): the compact line after a run, previews.
import type { DatabaseDiff, SchemaChange, TableDiff } from '../../engines/diff-types.js';

const n = (x: number) => x.toLocaleString('en-US');

/** "users +0 −0 ~1,204", "orders −48,210 (of 52,004)". */
export function tableChange(t: TableDiff): string {
  if (t.status === 'added') return `${t.name} (new table, ${n(t.rowsAfter ?? 0)} rows)`;
  if (t.status === 'dropped') return `${t.name} (dropped, had ${n(t.rowsBefore ?? 0)} rows)`;
  if (t.status === 'incomparable') return `${t.name} (not compared: ${t.reason ?? 'unknown reason'})`;
  const parts: string[] = [];
  if (t.inserted) parts.push(`+${n(t.inserted)}`);
  if (t.deleted) parts.push(`−${n(t.deleted)}`);
  if (t.updated) parts.push(`~${n(t.updated)}`);
  const of = t.deleted > 0 && t.rowsBefore ? ` (of ${n(t.rowsBefore)})` : '';
  return `${t.name} ${parts.join(' ')}${of}`;
}

export function schemaChangeText(c: SchemaChange): string {
  const what = c.kind === 'column' ? `column ${c.name}` : `${c.kind} ${c.name}`;
  if (c.change === 'renamed') return `${what} renamed to ${c.detail}`;
  return `${what} ${c.change}${c.detail && c.change === 'changed' ? ` (${c.detail})` : ''}`;
}

/** One line: "app: users ~1,204 · orders −48,210 (of 52,004) · schema: column users.plan added". */
export function compactSummary(d: DatabaseDiff): string {
  if (!d.after.exists) return `${d.database}: the database file is gone`;
  const parts = d.tables.filter((t) => t.status !== 'unchanged').map(tableChange);
  const schema = d.schema.filter((c) => !(c.kind === 'table' && (c.change === 'added' || c.change === 'dropped')));
  if (schema.length) parts.push(`schema: ${schema.map(schemaChangeText).join(', ')}`);
  if (d.before.userVersion !== d.after.userVersion && d.before.userVersion !== null && d.after.userVersion !== null) {
    parts.push(`user_version ${d.before.userVersion} → ${d.after.userVersion}`);
  }
  return `${d.database}: ${parts.length ? parts.join(' · ') : 'no changes'}`;
}
