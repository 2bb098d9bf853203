// The dashboard of `safe-run serve`: starts the HTTP server on host:port and hands back its address.
import { serve } from '@hono/node-server';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { loadConfig } from '../config.js';
import { createContext } from '../core/context.js';
import { isLoopbackHost } from '../serve/loopback.js';
import type { ServeStatus } from '../serve/status.js';
import { newCsrfSecret } from './access.js';
import { createDashboardApp } from './app.js';

export interface DashboardOptions {
  host: string;
  port: number;
  /** When set, every request needs it (Authorization: Bearer, or the cookie `/?token=` sets). */
  token?: string;
  cwd: string;
  configPath?: string;
  status(): ServeStatus;
  /** Called after a backup taken from the page: a manual one, or a restore's safety backup. */
  onBackupTaken?(): void;
}

/**
 * Start the dashboard. Resolves once it listens (port 0: a free one, named in `url`); rejects when the
 * address cannot be bound (in use, not this machine's). `close` stops it and waits for open requests.
 */
export async function startDashboard(o: DashboardOptions): Promise<{ url: string; close(): Promise<void> }> {
  const explicit = o.configPath ? path.resolve(o.cwd, o.configPath) : undefined;
  const ctx = createContext(loadConfig(o.cwd, o.configPath), o.cwd, explicit);
  const app = createDashboardApp({
    ctx,
    status: o.status,
    token: o.token,
    loopbackOnly: !o.token && isLoopbackHost(o.host),
    csrfSecret: newCsrfSecret(),
    onBackupTaken: o.onBackupTaken,
    report: (line) => process.stderr.write(`${line}\n`),
  });
  // Requests being handled now (an action may take a while: a restore): close() waits for these only.
  let inFlight = 0;
  const fetch = async (req: Request, env: unknown) => {
    inFlight++;
    try {
      return await app.fetch(req, env);
    } finally {
      inFlight--;
    }
  };
  return new Promise((resolve, reject) => {
    const server = serve({ fetch, hostname: o.host, port: o.port }, (info: AddressInfo) => {
      server.off('error', reject);
      const host = info.family === 'IPv6' ? `[${info.address}]` : info.address;
      resolve({
        url: `http://${host}:${info.port}/`,
        close: () =>
          new Promise<void>((done) => {
            const http = server as { closeIdleConnections?: () => void; closeAllConnections?: () => void };
            server.close(() => done());
            // Keep-alive connections would hold close() open until they time out.
            http.closeIdleConnections?.();
            // So would a client that sent half a request (a stalled or hostile one), for up to Node's
            // request timeout: once no request is being handled, what is left is dropped.
            const drop = setInterval(() => {
              if (inFlight > 0) return;
              clearInterval(drop);
              http.closeAllConnections?.();
            }, 50);
          }),
      });
    });
    server.once('error', reject);
  });
}
