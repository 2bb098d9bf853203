// Sizes, durations and times for people.
import prettyBytes from 'pretty-bytes';
import prettyMs from 'pretty-ms';

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
  const s = Math.max(0, (now - new Date(iso).getTime()) / 1000);
  if (s < 60) return `${Math.round(s)} s ago`;
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  if (s < 86400) return `${Math.round(s / 3600)} h ago`;
  return `${Math.round(s / 86400)} d ago`;
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
