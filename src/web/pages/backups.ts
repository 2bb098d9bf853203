// The backups page: statistics, every backup with its verified state, and the forms that act on them.
import { html } from 'hono/html';
import { size, when } from '../../cli/render/format.js';
import { shortId } from '../../ids.js';
import type { BackupRow, BackupStats, Span } from '../dashboard-data.js';
import { csrfField, type Html } from '../layout.js';

/** "verified", "re-verified today 14:02", "failed its re-check", "missing"… as a coloured label. */
export function stateLabel(r: BackupRow): Html {
  const v = r.lastVerified;
  if (r.state !== 'verified') return html`<span class="bad">${r.state}</span>`;
  if (v && !v.ok) return html`<span class="bad" title="${v.problems.join('; ')}">failed re-check ${when(v.at)}</span>`;
  if (v) return html`<span class="ok" title="${v.at}">verified, re-checked ${when(v.at)}</span>`;
  return html`<span class="ok">verified</span>`;
}

function kinds(byKind: Record<string, number>): string {
  return Object.entries(byKind)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, n]) => `${n} ${k}`)
    .join(', ');
}

function span(s: Span): Html {
  return html`<td>${s.count}</td><td>${size(s.bytes)}</td><td title="${s.newest ?? ''}">${s.newest ? when(s.newest) : '–'}</td><td title="${s.oldest ?? ''}">${s.oldest ? when(s.oldest) : '–'}</td>`;
}

export function statsTable(stats: BackupStats): Html {
  const dbs = Object.entries(stats.byDatabase).sort(([a], [b]) => a.localeCompare(b));
  return html`<div class="scroll"><table id="stats">
<thead><tr><th>Database</th><th>Backups</th><th>Size</th><th>Newest</th><th>Oldest</th><th>By kind</th></tr></thead>
<tbody>${dbs.map(([name, s]) => html`<tr><td>${name}</td>${span(s)}<td>${kinds(s.byKind)}</td></tr>`)}
<tr><th>All</th>${span(stats)}<td>${kinds(stats.byKind)}</td></tr></tbody></table></div>`;
}

/** The manual backup form: every configured database, with a reason kept beside the backup. */
export function backupForm(csrf: string, databases: string[]): Html {
  if (databases.length === 0) return html`<p class="muted">No database is configured: add "databases" to safe-run.config.json to take backups here.</p>`;
  return html`<form method="post" action="/backups" id="backup-form">${csrfField(csrf)}
<label>Reason <input type="text" name="reason" maxlength="500" placeholder="before the release" required></label>
<button type="submit">Back up ${databases.join(', ')} now</button></form>`;
}

export function backupsTable(rows: BackupRow[], csrf: string): Html {
  if (rows.length === 0) return html`<p class="muted">No backups yet.</p>`;
  return html`<div class="scroll"><table class="rows" id="backups">
<thead><tr><th>Backup</th><th class="wide">Database</th><th>Kind</th><th>Taken</th><th class="wide">Size</th><th>State</th><th>Reason</th><th></th></tr></thead>
<tbody>${rows.map(
    (r) => html`<tr id="b-${r.backup.id}" data-backup="${r.backup.id}">
<td><code>${shortId(r.backup.id)}</code></td><td class="wide">${r.backup.database}</td><td>${r.backup.kind}</td>
<td title="${r.backup.createdAt}">${when(r.backup.createdAt)}</td><td class="wide">${size(r.bytes)}</td><td>${stateLabel(r)}</td>
<td class="wrap">${r.backup.reason ?? ''}${r.backup.runId ? html` <a href="/runs/${r.backup.runId}" class="muted">run ${shortId(r.backup.runId)}</a>` : ''}</td>
<td><form method="post" action="/backups/${r.backup.id}/verify" class="inline">${csrfField(csrf)}<button type="submit">Verify</button></form>
<a href="/backups/${r.backup.id}/restore">Restore…</a></td></tr>`,
  )}</tbody></table></div>`;
}

export function backupsPage(rows: BackupRow[], stats: BackupStats, csrf: string, databases: string[]): Html {
  return html`<h1>Backups</h1>
${backupForm(csrf, databases)}
<h2>Statistics</h2>
${statsTable(stats)}
<h2>Every backup, newest first</h2>
${backupsTable(rows, csrf)}`;
}
