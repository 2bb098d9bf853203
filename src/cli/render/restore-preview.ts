// The preview a restore shows before it asks: what putting a backup back would change, in plain lines.
import { diffRestore } from '../../core/diff-run.js';
import type { Context } from '../../core/context.js';
import type { Backup } from '../../store/manifest.js';
import { compactSummary, schemaChangeText, tableChange } from './diff-summary.js';

/** Lines (no colours) describing the change from the live database now to `backup`. */
export async function describeRestorePreview(ctx: Context, backup: Backup): Promise<string[]> {
  const d = await diffRestore(backup, 0, ctx);
  if (!d.before.exists) return [`${backup.database}: the database does not exist now; the restore creates it`];
  const lines = [`restoring ${backup.database} to ${d.after.label} would change:`];
  const tables = d.tables.filter((t) => t.status !== 'unchanged');
  for (const t of tables) lines.push(`  ${tableChange(t)}  (${t.rowsBefore ?? 0} → ${t.rowsAfter ?? 0} rows)`);
  for (const c of d.schema) lines.push(`  schema: ${schemaChangeText(c)}`);
  if (tables.length === 0 && d.schema.length === 0) lines.push(`  nothing: ${compactSummary(d).replace(/^[^:]*: /, '')}`);
  return lines;
}
