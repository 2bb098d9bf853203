// Shared helpers of the benchmark: sizes, timing of child processes, and killing them on the way out.
import { spawn, spawnSync } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';

/** "200MB", "1GB", "1.5 GB", "500M", "1G", "1048576" → bytes (decimal units, like safe-run's own output). */
export function parseSize(text) {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(i?b?)\s*$/i.exec(String(text));
  if (!m) throw new Error(`cannot read the size "${text}": use e.g. 200MB or 1GB`);
  const unit = { '': 1, k: 1e3, m: 1e6, g: 1e9, t: 1e12 }[m[2].toLowerCase()];
  const binary = m[3].toLowerCase().startsWith('i');
  const mult = binary ? { 1: 1, 1e3: 2 ** 10, 1e6: 2 ** 20, 1e9: 2 ** 30, 1e12: 2 ** 40 }[unit] : unit;
  const bytes = Math.round(Number(m[1]) * mult);
  if (!(bytes >= 1e6)) throw new Error(`size "${text}" is too small: at least 1MB`);
  return bytes;
}

export function fmtBytes(n) {
  if (n >= 1e9) return `${+(n / 1e9).toFixed(2)} GB`;
  if (n >= 1e6) return `${+(n / 1e6).toFixed(1)} MB`;
  if (n >= 1e3) return `${+(n / 1e3).toFixed(1)} kB`;
  return `${n} B`;
}

/** A short label for a size, for file names: 1GB, 200MB, 1.5GB. */
export function sizeLabel(n) {
  return n >= 1e9 && n % 1e7 === 0 ? `${n / 1e9}GB` : `${Math.round(n / 1e6)}MB`;
}

export function fmtMs(ms) {
  if (ms == null || Number.isNaN(ms)) return '—';
  if (ms < 10) return `${ms.toFixed(1)} ms`;
  if (ms < 1000) return `${Math.round(ms)} ms`;
  return `${(ms / 1000).toFixed(2)} s`;
}

/** Parse safe-run's rendered durations: "850 ms", "1.4s", "1m 2.3s". */
export function parseDuration(text) {
  const ms = /^(\d+(?:\.\d+)?)\s*ms$/.exec(text);
  if (ms) return Number(ms[1]);
  let total = 0;
  let matched = false;
  for (const m of text.matchAll(/(\d+(?:\.\d+)?)\s*(h|m|s)\b/g)) {
    matched = true;
    total += Number(m[1]) * { h: 3_600_000, m: 60_000, s: 1000 }[m[2]];
  }
  return matched ? total : undefined;
}

// ---- child processes -------------------------------------------------------------------------

const children = new Set();

/** Track a child so that it is killed when the benchmark exits or is interrupted. */
export function track(child) {
  children.add(child);
  child.once('exit', () => children.delete(child));
  return child;
}

/** Ask every child still running to stop (SIGTERM), then SIGKILL what is left after `graceMs`. */
export async function killChildren(graceMs = 2000) {
  const alive = [...children].filter((c) => c.exitCode === null && c.signalCode === null);
  for (const c of alive) {
    try {
      c.kill('SIGTERM');
    } catch {
      /* already gone */
    }
  }
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline && alive.some((c) => c.exitCode === null && c.signalCode === null)) await sleep(50);
  for (const c of alive) {
    if (c.exitCode === null && c.signalCode === null) {
      try {
        c.kill('SIGKILL');
      } catch {
        /* already gone */
      }
    }
  }
}

/** Last resort on process 'exit' (synchronous): SIGKILL whatever is still tracked. */
export function killChildrenNow() {
  for (const c of children) {
    try {
      if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    } catch {
      /* already gone */
    }
  }
}

/**
 * Run a command to completion and time it from spawn to exit (wall clock, as a user would see it).
 * Rejects when it exits non-zero, with its stderr in the message.
 */
export function timed(cmd, args, opts = {}) {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = track(spawn(cmd, args, { cwd: opts.cwd, env: opts.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] }));
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    let partial = '';
    child.stderr.on('data', (d) => {
      stderr += d;
      if (!opts.onLine) return;
      // Each complete stderr line with the time it arrived, to split a run into its phases.
      const now = performance.now() - t0;
      const lines = (partial + d).split('\n');
      partial = lines.pop();
      for (const line of lines) opts.onLine(line, now);
    });
    child.on('error', reject);
    child.on('close', (code, signal) => {
      const ms = performance.now() - t0;
      if (code !== 0 && !opts.allowFail) {
        reject(new Error(`${[cmd, ...args].join(' ')} exited with ${signal ?? code}:\n${stderr.trim() || stdout.trim()}`));
        return;
      }
      resolve({ ms, code, signal, stdout, stderr });
    });
  });
}

/** Flush dirty pages and let the disk settle, so that one measurement does not pay for the last one's writes. */
export async function settle(ms = 300) {
  spawnSync('sync');
  await sleep(ms);
}

export function best(runs) {
  const ok = runs.filter((x) => typeof x === 'number' && !Number.isNaN(x));
  return ok.length ? Math.min(...ok) : undefined;
}
