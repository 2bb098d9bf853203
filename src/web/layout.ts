// The frame of every dashboard page: one small stylesheet (allowed by its hash, so the CSP needs no
// 'unsafe-inline'), the viewport for phones, the navigation, and a notice line.
import { createHash } from 'node:crypto';
import { html, raw } from 'hono/html';
import type { HtmlEscapedString } from 'hono/utils/html';

/** What a page body is: hono's escaped HTML (every interpolated value is escaped by `html`). */
export type Html = HtmlEscapedString | Promise<HtmlEscapedString>;

const STYLE = `
body{font:15px/1.45 system-ui,sans-serif;margin:0;color:#1d1d1f;background:#fafafa}
header{background:#1d2a3a;color:#fff;padding:.6em 1em;display:flex;flex-wrap:wrap;gap:.4em 1.2em;align-items:baseline}
header a{color:#fff;text-decoration:none}header strong{margin-right:auto}
main{padding:.8em 1em;max-width:72em}
h1{font-size:1.25em;margin:.4em 0}h2{font-size:1.05em;margin:1.2em 0 .4em}
.scroll{overflow-x:auto}table{border-collapse:collapse;width:100%;background:#fff}
th,td{text-align:left;padding:.3em .5em;border-bottom:1px solid #e3e3e3;vertical-align:top;white-space:nowrap}
td.wrap{white-space:normal;word-break:break-word}
.bad{color:#b00020;font-weight:600}.ok{color:#176b2c;font-weight:600}.warn{color:#8a5a00;font-weight:600}
tr.failed{background:#fff0f0}
.notice{padding:.5em .8em;border-left:4px solid #176b2c;background:#eef8f0;margin:.5em 0}
.notice.error{border-color:#b00020;background:#fff0f0}
form.inline{display:inline}button{font:inherit;padding:.25em .8em;cursor:pointer}
input[type=text]{font:inherit;padding:.25em .4em;max-width:100%}
pre,code{font-family:ui-monospace,monospace;font-size:.92em}pre{background:#fff;border:1px solid #e3e3e3;padding:.6em;white-space:pre-wrap;overflow-wrap:anywhere}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(16em,1fr));gap:.8em}
.card{background:#fff;border:1px solid #e3e3e3;padding:.6em .8em}
.muted{color:#666}
@media (max-width:40em){.wide{display:none}main{padding:.6em}
table.rows thead{display:none}table.rows tr{display:block;border-bottom:1px solid #e3e3e3;padding:.3em 0}
table.rows td{display:inline-block;border:0;padding:.1em .4em}table.rows td.wrap{display:block}}
`.trim();

/** The Content-Security-Policy: our own origin only, and the one stylesheet above by its hash. */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  `style-src 'sha256-${createHash('sha256').update(STYLE).digest('base64')}'`,
  "script-src 'none'",
  "img-src 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
].join('; ');

export interface Notice {
  text: string;
  error?: boolean;
}

export function page(title: string, body: Html, notice?: Notice): Html {
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title} · safe-run</title>
<style>${raw(STYLE)}</style>
</head>
<body>
<header><strong><a href="/">safe-run</a></strong><a href="/runs">Runs</a><a href="/backups">Backups</a><a href="/health">Health</a></header>
<main>
${notice ? html`<p class="notice${notice.error ? ' error' : ''}" role="status">${notice.text}</p>` : ''}
${body}
</main>
</body>
</html>`;
}

/** A hidden CSRF field for a form. */
export function csrfField(token: string): Html {
  return html`<input type="hidden" name="csrf" value="${token}">`;
}
