// The runs page: the operation log, newest first, failed runs marked.
import { html } from 'hono/html';
import { duration, when } from '../../cli/render/format.js';
import type { RunRow } from '../dashboard-data.js';
import type { Html } from '../layout.js';
import { shortId } from '../../ids.js';

/** How a run ended, in a word or two: 0, exit 3, SIGKILL, aborted, killed, running. */
export function outcome(r: RunRow): Html {
  const rec = r.record;
  const text =
    rec.status === 'running' ? 'running'
    : rec.status === 'interrupted' ? 'killed'
    : rec.status === 'aborted' ? 'aborted'
    : rec.signal ? rec.signal
    : rec.exitCode === 0 ? 'ok'
    : `exit ${rec.exitCode ?? '?'}`;
  const cls = r.failed ? 'bad' : rec.status === 'running' ? 'warn' : 'ok';
  return html`<span class="${cls}">${text}</span>`;
}

export function runsTable(rows: RunRow[]): Html {
  if (rows.length === 0) return html`<p class="muted">No runs yet. A guarded run, a backup or a restore shows here.</p>`;
  return html`<div class="scroll"><table class="rows" id="runs">
<thead><tr><th>Run</th><th>When</th><th class="wide">Kind</th><th>Command</th><th>Result</th><th class="wide">Took</th><th class="wide">Databases</th></tr></thead>
<tbody>${rows.map(
    (r) => html`<tr class="${r.failed ? 'failed' : ''}" data-run="${r.record.id}">
<td><a href="/runs/${r.record.id}"><code>${shortId(r.record.id)}</code></a></td>
<td title="${r.record.startedAt}">${when(r.record.startedAt)}</td>
<td class="wide">${r.record.kind}</td>
<td class="wrap"><code>${r.command}</code>${r.record.reason ? html`<br><span class="muted">${r.record.reason}</span>` : ''}</td>
<td>${outcome(r)}</td>
<td class="wide">${r.record.durationMs === undefined ? '' : duration(r.record.durationMs)}</td>
<td class="wide">${r.record.databases.join(', ')}${r.record.backupSkipped ? html` <span class="bad">(no backup)</span>` : ''}</td>
</tr>`,
  )}</tbody></table></div>`;
}

export function runsPage(rows: RunRow[], total: number): Html {
  return html`<h1>Runs</h1>
<p class="muted">${rows.length} of ${total} runs, newest first. Failed runs are marked in red.</p>
${runsTable(rows)}
${rows.length < total ? html`<p><a href="/runs?limit=${Math.min(rows.length * 4, 5_000)}">Show more</a></p>` : ''}`;
}
