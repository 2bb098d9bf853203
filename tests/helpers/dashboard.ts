// The dashboard of a real, started server, for the web tests: start and stop it, ask it things over HTTP,
// and fingerprint the store and log to prove that a refused request changed nothing.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { FIXTURES } from './cli.js';

export interface RunningDashboard {
  /** "http://127.0.0.1:PORT/" */
  url: string;
  port: number;
  output(): string;
  stop(): Promise<number | null>;
}

/** Start the dashboard on a free loopback port for the project in `dir`; resolves once it listens. */
export function startDashboardServer(dir: string, opts: { token?: string } = {}): Promise<RunningDashboard> {
  const child = spawn(process.execPath, [path.join(FIXTURES, 'dashboard-only.mjs')], {
    cwd: dir,
    env: { ...process.env, NO_COLOR: '1', SAFE_RUN_TOKEN: opts.token ?? '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`the dashboard did not start in 20 s:\n${out}`));
    }, 20_000);
    const onData = (d: Buffer) => {
      out += d;
      const url = /(http:\/\/127\.0\.0\.1:(\d+)\/)/.exec(out);
      if (!url) return;
      clearTimeout(timer);
      resolve({
        url: url[1]!,
        port: Number(url[2]),
        output: () => out,
        stop: () =>
          new Promise((done) => {
            if (child.exitCode !== null) return done(child.exitCode);
            child.once('exit', (code) => done(code));
            child.kill('SIGTERM');
          }),
      });
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the dashboard exited (${code}) before it listened:\n${out}`));
    });
  });
}

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
