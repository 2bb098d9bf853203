// Who may use the dashboard: the token (when the server has one), the Host it is asked under, and the
// CSRF token every form carries.
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Context, MiddlewareHandler } from 'hono';
import { getCookie, setCookie } from 'hono/cookie';
import { isLoopbackHost } from '../serve/loopback.js';

/** Equal strings, in time that does not depend on where they differ (both hashed to the same length first). */
export function sameSecret(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

const SESSION_COOKIE = 'safe-run-session';

/**
 * With a token, every request needs it: `Authorization: Bearer <token>`, or the session cookie that
 * `?token=<token>` sets once (then the address is loaded again without it, so it stays out of history
 * and logs of later requests). Without one: 401, and nothing else is read. The cookie is derived from
 * the token and this server start's secret, never the token itself: a browser sends the cookies of
 * 127.0.0.1 to every port there, so other local web apps see it; what they see opens this dashboard
 * until serve restarts, and never the API of another start or the token.
 */
export function requireToken(token: string | undefined, secret: Buffer): MiddlewareHandler {
  const session = token ? createHmac('sha256', secret).update(`safe-run dashboard session\0${token}`).digest('base64url') : '';
  return async (c, next) => {
    if (!token) return next();
    const fromQuery = c.req.query('token');
    if (fromQuery !== undefined && c.req.method === 'GET' && sameSecret(fromQuery, token)) {
      setCookie(c, SESSION_COOKIE, session, { httpOnly: true, sameSite: 'Strict', path: '/' });
      const url = new URL(c.req.url);
      url.searchParams.delete('token');
      return c.redirect(url.pathname + url.search, 303);
    }
    const bearer = /^Bearer\s+(.+)$/i.exec(c.req.header('authorization') ?? '')?.[1]?.trim();
    const cookie = getCookie(c, SESSION_COOKIE);
    if ((bearer !== undefined && sameSecret(bearer, token)) || (cookie !== undefined && sameSecret(cookie, session))) return next();
    return unauthorized(c);
  };
}

function unauthorized(c: Context) {
  c.header('WWW-Authenticate', 'Bearer realm="safe-run"');
  const message = 'this dashboard needs its token: open /?token=<token> once, or send Authorization: Bearer <token>';
  if (c.req.path.startsWith('/api/')) return c.json({ error: message }, 401);
  return c.text(`401 Unauthorized: ${message}\n`, 401);
}

/**
 * On a loopback bind without a token, answer only to loopback Host names: a web page elsewhere whose
 * name is made to resolve to 127.0.0.1 (DNS rebinding) would otherwise read the pages, CSRF token
 * included, and act through the forms.
 */
export function requireLoopbackHost(enabled: boolean): MiddlewareHandler {
  return async (c, next) => {
    if (!enabled) return next();
    const host = (c.req.header('host') ?? '').toLowerCase().replace(/:\d+$/, '');
    if (isLoopbackHost(host)) return next();
    return c.text('421 Misdirected Request: this dashboard answers on localhost only; start safe-run serve with --host and --token to reach it by another name\n', 421);
  };
}

/** The CSRF token of one server: derived from a secret made at start, so it changes with each start. */
export function csrfToken(secret: Buffer): string {
  return createHmac('sha256', secret).update('safe-run dashboard form').digest('base64url');
}

export function newCsrfSecret(): Buffer {
  return randomBytes(32);
}
