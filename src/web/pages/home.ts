// The first page: each database's health, the manual backup form, the statistics and the latest runs.
import { html } from 'hono/html';
import type { ServeStatus } from '../../serve/status.js';
import type { BackupStats, RunRow } from '../dashboard-data.js';
import type { Html } from '../layout.js';
import { backupForm, statsTable } from './backups.js';
import { healthCards } from './health.js';
import { runsTable } from './runs.js';

export function homePage(status: ServeStatus, stats: BackupStats, runs: RunRow[], csrf: string, databases: string[]): Html {
  return html`<h1>Dashboard</h1>
<p class="muted">Backups ${status.schedule}.</p>
${healthCards(status)}
<h2>Take a backup</h2>
${backupForm(csrf, databases)}
<h2>Backups</h2>
${statsTable(stats)}
<p><a href="/backups">Every backup</a></p>
<h2>Latest runs</h2>
${runsTable(runs)}
<p><a href="/runs">Every run</a></p>`;
}
