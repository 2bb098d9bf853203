// A page that only says something: not found, refused, busy, failed; with what to do next.
import { html } from 'hono/html';
import type { Html } from '../layout.js';

export function messagePage(title: string, message: string, hint?: string): Html {
  return html`<h1>${title}</h1>
<p class="notice error">${message}</p>
${hint ? html`<p>${hint}</p>` : ''}
<p><a href="/">Dashboard</a> · <a href="/backups">Backups</a></p>`;
}
