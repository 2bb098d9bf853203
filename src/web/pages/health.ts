// The health of each database as the running server sees it: its check, last backup, last failure,
// next tick; and what was found about the environment (a store that vanishes or cannot be written).
import { html } from 'hono/html';
import { when } from '../../cli/render/format.js';
import { shortId } from '../../ids.js';
import type { DatabaseStatus, ServeStatus } from '../../serve/status.js';
import type { Html } from '../layout.js';

/** Whether the database needs a look: a failed check, or a failure newer than its last backup. */
export function needsAttention(d: DatabaseStatus): boolean {
  const checkBad = d.lastCheck !== undefined && d.lastCheck.state !== 'ok' && d.lastCheck.state !== 'unchecked';
  const failing = d.lastFailure !== undefined && (!d.lastBackup || d.lastFailure.at > d.lastBackup.at);
  return checkBad || failing;
}

function card(d: DatabaseStatus): Html {
  const bad = needsAttention(d);
  return html`<div class="card" data-database="${d.name}">
<strong>${d.name}</strong> <span class="${bad ? 'bad' : 'ok'}">${bad ? 'needs attention' : 'ok'}</span><br>
<span class="muted">${d.engine} · ${d.location}</span><br>
check: ${d.lastCheck ? html`<span class="${d.lastCheck.state === 'ok' ? 'ok' : 'bad'}">${d.lastCheck.state}</span> ${when(d.lastCheck.at)}${d.lastCheck.problems.length ? html`<br><span class="bad">${d.lastCheck.problems.join('; ')}</span>` : ''}` : 'not yet'}<br>
last backup: ${d.lastBackup ? html`<code>${shortId(d.lastBackup.id)}</code> ${d.lastBackup.kind}, ${when(d.lastBackup.at)}` : 'none yet'}<br>
${d.lastFailure ? html`<span class="bad">last failure ${when(d.lastFailure.at)} (${d.lastFailure.kind}): ${d.lastFailure.message}</span><br>` : ''}
${d.lastSkip ? html`<span class="warn">tick skipped ${when(d.lastSkip.at)}: ${d.lastSkip.reason}</span><br>` : ''}
${d.backupInProgress ? html`<span class="warn">backing up now (${d.backupInProgress.kind}, since ${when(d.backupInProgress.since)})</span><br>` : ''}
next backup: ${d.nextTickAt ? when(d.nextTickAt) : '–'}<br>
<span class="muted">since start: ${d.backupsTaken} taken, ${d.failures} failed, ${d.skipped} skipped</span>
</div>`;
}

export function healthCards(s: ServeStatus): Html {
  return html`${s.environment.length ? html`<ul>${s.environment.map((f) => html`<li class="${f.severity === 'warn' ? 'warn' : 'muted'}">${f.message}</li>`)}</ul>` : ''}
<div class="cards">${s.databases.map(card)}</div>`;
}

export function healthPage(s: ServeStatus): Html {
  return html`<h1>Health</h1>
<p class="muted">Server ${s.state} since ${when(s.startedAt)} (pid ${s.pid}) · backups ${s.schedule}</p>
${s.databases.length === 0 ? html`<p class="muted">No database is configured.</p>` : ''}
${healthCards(s)}`;
}
