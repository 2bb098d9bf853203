// A stand-in for the dashboard of `safe-run serve` (the real one is on branch h-web): one plain page with
// the status, so that serve runs end to end. Replaced at merge by the dashboard's own server.ts.
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import type { AddressInfo } from 'node:net';
import type { ServeStatus } from '../serve/status.js';

export interface DashboardOptions {
  host: string;
  port: number;
  token?: string;
  cwd: string;
  configPath?: string;
  status(): ServeStatus;
  onBackupTaken?(): void;
}

export async function startDashboard(o: DashboardOptions): Promise<{ url: string; close(): Promise<void> }> {
  const app = new Hono();
  app.use('*', async (c, next) => {
    if (o.token && c.req.header('authorization') !== `Bearer ${o.token}` && c.req.query('token') !== o.token) return c.text('token required\n', 401);
    await next();
  });
  app.get('/', (c) => c.html(`<!doctype html><meta charset="utf-8"><title>safe-run</title><pre>${escape(JSON.stringify(o.status(), null, 2))}</pre>`));
  app.get('/api/health', (c) => c.json(o.status()));
  return new Promise((resolve, reject) => {
    const server = serve({ fetch: app.fetch, hostname: o.host, port: o.port }, (info: AddressInfo) => {
      server.off('error', reject);
      const host = info.family === 'IPv6' ? `[${info.address}]` : info.address;
      resolve({
        url: `http://${host}:${info.port}/`,
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            (server as { closeIdleConnections?: () => void }).closeIdleConnections?.();
          }),
      });
    });
    server.once('error', reject);
  });
}

function escape(s: string): string {
  return s.replace(/[&<>"]/g, (ch) => `&#${ch.charCodeAt(0)};`);
}
