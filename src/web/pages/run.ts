// One run: what it ran, how it ended, its backups, what it changed since, and the command that undoes it.
import { html } from 'hono/html';
import { duration, size, when } from '../../cli/render/format.js';
import { shortId } from '../../ids.js';
import type { RunRecord } from '../../oplog/run-record.js';
import type { BackupRow, RunRow } from '../dashboard-data.js';
import type { Html } from '../layout.js';
import { outcome } from './runs.js';
import { stateLabel } from './backups.js';

export interface RunView {
  row: RunRow;
  /** The run's backups as the store lists them now (undefined: no longer in the store). */
  backups: Array<{ ref: RunRecord['backups'][number]; stored?: BackupRow }>;
  /** What changed in each database since its backup, one line each. */
  changes: string[];
}

export function runPage(v: RunView): Html {
  const r = v.row.record;
  return html`<h1>Run <code>${shortId(r.id)}</code> ${outcome(v.row)}</h1>
<div class="scroll"><table>
<tr><th>Command</th><td class="wrap"><code>${v.row.command}</code></td></tr>
<tr><th>Kind</th><td>${r.kind}</td></tr>
${r.reason ? html`<tr><th>Reason</th><td class="wrap">${r.reason}</td></tr>` : ''}
<tr><th>Started</th><td title="${r.startedAt}">${when(r.startedAt)} by ${r.user}@${r.host}</td></tr>
${r.durationMs === undefined ? '' : html`<tr><th>Took</th><td>${duration(r.durationMs)}</td></tr>`}
<tr><th>Databases</th><td>${r.databases.join(', ')}</td></tr>
${r.backupSkipped ? html`<tr><th>Backup</th><td class="wrap bad">none: ${r.backupSkipped.reason}; this run cannot be rolled back</td></tr>` : ''}
${r.error ? html`<tr><th>Error</th><td class="wrap bad">${r.error}</td></tr>` : ''}
${r.autoRollback ? html`<tr><th>Rolled back</th><td>${r.autoRollback.ok ? 'yes, automatically' : html`<span class="bad">failed: ${r.autoRollback.error ?? ''}</span>`}</td></tr>` : ''}
<tr><th>Run id</th><td><code>${r.id}</code></td></tr>
</table></div>
<h2>Backups</h2>
${v.backups.length === 0 ? html`<p class="muted">This run took no backups.</p>` : html`<div class="scroll"><table>
<thead><tr><th>Backup</th><th>Database</th><th>Size</th><th>State</th><th></th></tr></thead>
<tbody>${v.backups.map(
    (b) => html`<tr><td><code>${shortId(b.ref.id)}</code></td><td>${b.ref.database}</td><td>${size(b.ref.size)}</td>
<td>${b.stored ? stateLabel(b.stored) : html`<span class="warn">no longer in the store</span>`}</td>
<td>${b.stored ? html`<a href="/backups/${b.ref.id}/restore">Restore…</a>` : ''}</td></tr>`,
  )}</tbody></table></div>`}
${v.changes.length ? html`<h2>Changed since its backups</h2><pre id="changes">${v.changes.join('\n')}</pre>` : ''}
${r.rollbackCommand ? html`<h2>Undo</h2><pre id="undo">${r.rollbackCommand}</pre><p class="muted">Run it in a terminal: it asks before it changes anything, and keeps a safety backup first.</p>` : ''}`;
}
