// Restoring from the dashboard: the preview (what will change) with a form to type the database's name,
// then the core restore (its outcome is the restore's own run page).
import { html } from 'hono/html';
import { shortPath, when } from '../../cli/render/format.js';
import { shortId } from '../../ids.js';
import type { Backup } from '../../store/manifest.js';
import { csrfField, type Html } from '../layout.js';

export interface RestorePreviewView {
  backup: Backup;
  cwd: string;
  /** What the restore would change, from the live database now to the backup. */
  preview: string[];
  /** What protects the database from the restore itself (the safety backup). */
  safety: string[];
  csrf: string;
  /** When this preview was made (ISO): the restore is refused if the database changed since. */
  previewedAt: string;
}

export function restorePreviewPage(v: RestorePreviewView): Html {
  const b = v.backup;
  return html`<h1>Restore ${b.database} to backup <code>${shortId(b.id)}</code></h1>
<p>${b.database} (${shortPath(b.source, v.cwd)}) goes back to its state of <span title="${b.createdAt}">${when(b.createdAt)}</span>
(${b.kind} backup${b.reason ? `, "${b.reason}"` : ''}).</p>
<h2>What will change</h2>
<pre id="preview">${v.preview.length ? v.preview.join('\n') : 'nothing'}</pre>
<ul>${v.safety.map((l) => html`<li>${l}</li>`)}</ul>
<form method="post" action="/backups/${b.id}/restore" id="restore-form">${csrfField(v.csrf)}<input type="hidden" name="previewed" value="${v.previewedAt}">
<label>Type <strong>${b.database}</strong> to restore it: <input type="text" name="confirm" autocomplete="off" required></label>
<button type="submit">Restore ${b.database}</button></form>
<p><a href="/backups">Cancel</a>: nothing is changed until you type the name and press the button.</p>`;
}

