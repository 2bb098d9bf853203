// Sizes, durations, times and ids for people, and the times people type (--since).
import prettyBytes from 'pretty-bytes';
import prettyMs from 'pretty-ms';
import { SafeRunError } from '../../errors.js';

export function size(bytes: number): string {
  return prettyBytes(bytes); // no locale options: they load Intl, ~20 ms at start-up
}

export function duration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  return prettyMs(ms, { secondsDecimalDigits: 1, unitCount: 2 });
}

/** "today 14:15", "yesterday 17:40", "Nov 3 09:12", "2025-11-03". */
export function when(iso: string, now = new Date()): string {
  const d = new Date(iso);
  const hm = `${String(d.getHours()).padStart(2, '0')}:${String(d.getMinutes()).padStart(2, '0')}`;
  const day = (x: Date) => new Date(x.getFullYear(), x.getMonth(), x.getDate()).getTime();
  const days = Math.round((day(now) - day(d)) / 86_400_000);
  if (days === 0) return `today ${hm}`;
  if (days === 1) return `yesterday ${hm}`;
  if (d.getFullYear() === now.getFullYear()) {
    return `${d.toLocaleString('en', { month: 'short' })} ${d.getDate()} ${hm}`;
  }
  return d.toISOString().slice(0, 10);
}

/** "3 min ago", "2 h ago", "5 d ago". */
export function age(iso: string, now = Date.now()): string {
  return `${elapsed(iso, now)} ago`;
}

/** "40 s", "3 min", "2 h", "5 d": the time since `iso`, for an AGE column. */
export function elapsed(iso: string, now = Date.now()): string {
  const s = Math.max(0, (now - new Date(iso).getTime()) / 1000);
  if (s < 60) return `${Math.round(s)} s`;
  if (s < 3600) return `${Math.round(s / 60)} min`;
  if (s < 86400) return `${Math.round(s / 3600)} h`;
  return `${Math.round(s / 86400)} d`;
}

/** Shorten to `width` columns with an ellipsis. */
export function clip(text: string, width: number): string {
  if (text.length <= width) return text;
  return width <= 1 ? text.slice(0, width) : `${text.slice(0, width - 1)}…`;
}

/** A path shown relative to `cwd` when it is inside it. */
export function shortPath(p: string, cwd: string): string {
  if (p.startsWith(cwd + '/')) return p.slice(cwd.length + 1);
  return p;
}

/** One line for a table cell: newlines, tabs and other control characters become single spaces. */
export function oneLine(text: string): string {
  return text.replace(/[\x00-\x1f\x7f-\x9f]+/g, ' ');
}

/**
 * Control characters shown as escapes (`\n`, `\t`, `\x1b`), for paths and messages printed outside a
 * command line: a terminal must never receive an escape sequence that came from a file name or argv.
 */
export function visible(text: string): string {
  return text.replace(/[\x00-\x1f\x7f-\x9f]/g, (ch) =>
    ch === '\n' ? '\\n' : ch === '\t' ? '\\t' : `\\x${ch.charCodeAt(0).toString(16).padStart(2, '0')}`,
  );
}

/**
 * How many leading characters make every id unique (at least `min`), as git abbreviates hashes:
 * the longest common prefix of neighbours in sorted order, plus one.
 */
export function uniquePrefixLength(ids: string[], min = 4): number {
  const sorted = [...ids].sort();
  let len = min;
  for (let i = 1; i < sorted.length; i++) {
    const a = sorted[i - 1]!;
    const b = sorted[i]!;
    let common = 0;
    while (common < a.length && a[common] === b[common]) common++;
    len = Math.max(len, common + 1);
  }
  return len;
}

const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, min: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/**
 * The start of a --since window: "30m", "12h", "2d", "1w" (back from now), "today", "yesterday",
 * or a local date or date-time ("2026-11-01", "2026-11-01 14:00"). Anything else is a usage error.
 */
export function parseSince(text: string, now = new Date()): Date {
  const t = text.trim().toLowerCase();
  const rel = /^(\d+(?:\.\d+)?)\s*(s|m|min|h|d|w)$/.exec(t);
  if (rel) return new Date(now.getTime() - Number(rel[1]) * UNIT_MS[rel[2]!]!);
  const midnight = new Date(now.getFullYear(), now.getMonth(), now.getDate());
  if (t === 'today') return midnight;
  if (t === 'yesterday') return new Date(midnight.getFullYear(), midnight.getMonth(), midnight.getDate() - 1);
  const abs = /^(\d{4})-(\d{2})-(\d{2})(?:[ t](\d{2}):(\d{2})(?::(\d{2}))?)?$/.exec(t);
  if (abs) {
    const [y, mo, d, h = 0, mi = 0, s = 0] = abs.slice(1).map((v) => (v === undefined ? undefined : Number(v))) as number[];
    const date = new Date(y!, mo! - 1, d, h, mi, s);
    // Date rolls 2026-02-30 over to March: refuse what does not round-trip.
    if (date.getFullYear() === y && date.getMonth() === mo! - 1 && date.getDate() === d && h < 24 && mi < 60 && s < 60) return date;
  }
  throw new SafeRunError('usage', `--since takes a time span or a date, not "${text}"`, {
    hint: 'e.g. --since 30m, --since 12h, --since 2d, --since yesterday or --since 2026-11-01',
  });
}

/** A length of time as people type it ("25h", "90m", "2d", "1w"; a bare number is seconds), in ms. */
export function parseSpan(text: string, option: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*(s|m|min|h|d|w)?$/.exec(text.trim().toLowerCase());
  if (!m || Number(m[1]) <= 0) {
    throw new SafeRunError('usage', `${option} takes a length of time, not "${text}"`, { hint: `e.g. ${option} 25h, ${option} 90m or ${option} 2d` });
  }
  return Number(m[1]) * UNIT_MS[m[2] ?? 's']!;
}
