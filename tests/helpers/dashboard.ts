// The dashboard of a really started `safe-run serve`, for the web tests: start and stop it, ask it things over HTTP,
// and fingerprint the store and log to prove that a refused request changed nothing.
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import type { ServeStatus } from '../../src/serve/status.js';
import { startCli } from './cli.js';

export interface RunningDashboard {
  /** "http://127.0.0.1:PORT/" */
  url: string;
  port: number;
  output(): string;
  stop(): Promise<number | null>;
}

/**
 * Start the real `safe-run serve` for the project in `dir` on a free loopback port; resolves once its
 * dashboard listens and its startup backups are done (so what a test then sees changing is its own doing).
 */
export async function startDashboardServer(dir: string, opts: { token?: string } = {}): Promise<RunningDashboard> {
  // The token through the environment, as a user should pass it (argv is readable by every local user).
  const child = startCli(['serve', '--port', '0'], { cwd: dir, env: { SAFE_RUN_TOKEN: opts.token } });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    return exited;
  };
  const deadline = Date.now() + 30_000;
  let url: RegExpExecArray | null = null;
  while (!(url = /(http:\/\/127\.0\.0\.1:(\d+)\/)/.exec(out))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      await stop();
      throw new Error(`safe-run serve did not start its dashboard:\n${out}`);
    }
    await sleep(50);
  }
  const port = Number(url[2]);
  const headers = opts.token ? { authorization: `Bearer ${opts.token}` } : undefined;
  for (;;) {
    const health = JSON.parse((await request(port, 'GET', '/api/health', { headers })).body) as ServeStatus;
    if (health.databases.every((d) => d.backupsTaken + d.failures > 0 && !d.backupInProgress)) break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`safe-run serve took no startup backup in 30 s:\n${out}`);
    }
    await sleep(100);
  }
  return { url: url[1]!, port, output: () => out, stop };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

/**
 * One request with the path exactly as given (no normalisation of `..`, unlike fetch and curl), and a
 * form body when `form` is given.
 */
export function request(port: number, method: string, rawPath: string, opts: { form?: Record<string, string>; headers?: Record<string, string> } = {}): Promise<RawResponse> {
  const body = opts.form ? new URLSearchParams(opts.form).toString() : undefined;
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        method,
        path: rawPath,
        headers: { ...(body !== undefined ? { 'content-type': 'application/x-www-form-urlencoded', 'content-length': Buffer.byteLength(body) } : {}), ...opts.headers },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d) => (text += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** The CSRF token of the server, as its pages carry it in every form. */
export function csrfOf(pageHtml: string): string {
  const m = /name="csrf" value="([^"]+)"/.exec(pageHtml);
  if (!m) throw new Error('no CSRF field on the page');
  return m[1]!;
}

/**
 * Every file under the project's backups/ and logs/ and the database files, with size and sha256:
 * equal fingerprints before and after a request mean it changed nothing on disk.
 */
export function fingerprint(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      // Lock files and SQLite's -shm (an index any reader rebuilds) are not what a request could damage.
      else if (e.isFile() && !/\.lock(\.json)?$|-shm$/.test(e.name)) {
        out[path.relative(dir, p)] = `${statSync(p).size} ${createHash('sha256').update(readFileSync(p)).digest('hex')}`;
      }
    }
  };
  for (const sub of ['backups', 'logs', 'data']) {
    try {
      walk(path.join(dir, sub));
    } catch {
      // not there yet
    }
  }
  return out;
}
