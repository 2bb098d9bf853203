// Render a database diff for the terminal: the schema, a table of counts, and changed rows on request.
import type { DatabaseDiff, Row, TableDiff } from '../../engines/diff-types.js';
import { schemaChangeText } from './diff-summary.js';
import { paintFor } from './colour.js';
import { clip } from './format.js';
import { renderTable } from './table.js';

const n = (x: number | null) => (x === null ? '—' : x.toLocaleString('en-US'));

export function renderDiff(d: DatabaseDiff, stream: NodeJS.WriteStream = process.stdout): string {
  const c = paintFor(stream);
  const out: string[] = [];
  out.push(`${c.bold(d.database)}  ${d.before.label} → ${d.after.label}`);
  if (!d.after.exists) out.push(c.red('  the database file does not exist any more'));
  if (!d.before.exists) out.push('  the database did not exist before');
  const uv = d.before.userVersion !== d.after.userVersion && d.before.exists && d.after.exists ? [`user_version ${d.before.userVersion} → ${d.after.userVersion}`] : [];
  const schema = [...d.schema.map(schemaChangeText), ...uv];
  out.push(`schema: ${schema.length ? schema.join(', ') : 'no changes'}`);
  const changed = d.tables.filter((t) => t.status !== 'unchanged');
  if (changed.length) {
    const counts = (t: TableDiff) => (t.status === 'incomparable' ? ['—', '—', '—'] : [fmt(t.inserted, '+'), fmt(t.deleted, '−'), fmt(t.updated, '~')]);
    const rows = changed.map((t) => [clip(t.name, 24), n(t.rowsBefore), n(t.rowsAfter), ...counts(t)]);
    const table = renderTable(
      [{ header: 'TABLE', flexible: true }, { header: 'BEFORE', right: true }, { header: 'AFTER', right: true }, { header: 'INSERTED', right: true }, { header: 'DELETED', right: true }, { header: 'UPDATED', right: true }],
      rows,
    );
    out.push(...table.split('\n').map((l) => `  ${l}`));
  } else {
    out.push('rows: no changes');
  }
  const same = d.tables.length - changed.length;
  if (same > 0) out.push(c.dim(`  ${same} table${same === 1 ? '' : 's'} unchanged`));
  // Why a table could not be compared, or how its rows were matched when nothing identifies them.
  for (const t of changed) if (t.reason) out.push((t.status === 'incomparable' ? c.red : c.dim)(clip(`  ${t.name}: ${t.status === 'incomparable' ? 'not compared: ' : ''}${t.reason}`, 80)));
  for (const t of changed) if (t.samples) out.push(...renderSamples(t));
  return out.join('\n');
}

function fmt(x: number, sign: string): string {
  return x === 0 ? '0' : `${sign}${x.toLocaleString('en-US')}`;
}

function value(v: unknown): string {
  if (v === null || v === undefined) return 'NULL';
  if (Buffer.isBuffer(v)) return `x'${v.subarray(0, 8).toString('hex')}${v.length > 8 ? '…' : ''}' (${v.length} B)`;
  if (typeof v === 'string') return `'${clip(v, 30)}'`;
  return String(v);
}

function keyText(t: TableDiff, row: Row): string {
  return t.key.map((k) => `${k}=${value(row[k])}`).join(' ');
}

function rowText(row: Row): string {
  return Object.entries(row)
    .map(([k, v]) => `${k}=${value(v)}`)
    .join(' ');
}

function renderSamples(t: TableDiff): string[] {
  const s = t.samples!;
  const lines = [`  ${t.name}:`];
  for (const r of s.deleted) lines.push(clip(`    − ${rowText(r)}`, 80));
  for (const r of s.inserted) lines.push(clip(`    + ${rowText(r)}`, 80));
  for (const u of s.updated) {
    const changes = Object.keys(u.after)
      .filter((k) => !sameValue(u.before[k], u.after[k]))
      .map((k) => `${k}: ${value(u.before[k])} → ${value(u.after[k])}`);
    lines.push(clip(`    ~ ${keyText(t, u.before)}  ${changes.join(', ')}`, 80));
  }
  if (s.more > 0) lines.push(`    … and ${s.more.toLocaleString('en-US')} more changed row${s.more === 1 ? '' : 's'}`);
  return lines;
}

function sameValue(a: unknown, b: unknown): boolean {
  return Buffer.isBuffer(a) && Buffer.isBuffer(b) ? a.equals(b) : a === b;
}
