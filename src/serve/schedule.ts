// When scheduled backups are due: every N (seconds to days) or at a cron expression (croner, in UTC).
import { Cron } from 'croner';

export interface Schedule {
  /** For a person: "every 12h", "cron 0 3 * * * (UTC)". */
  description: string;
  /** The first due time strictly after `after`. */
  next(after: Date): Date;
}

const UNITS: Record<string, number> = { s: 1000, m: 60_000, min: 60_000, h: 3_600_000, d: 86_400_000, w: 7 * 86_400_000 };

/** The longest interval: a year. Beyond it a due time soon leaves what a Date holds (serve crashed). */
export const MAX_INTERVAL_MS = 366 * 86_400_000;

/**
 * "30s", "15m" (minutes here: an interval has no months), "12h", "1d", "1w", also "1h30m" → ms; undefined
 * when it is not such an interval. At least one second: a tick takes a verified backup, not a heartbeat;
 * at most a year (366d).
 */
export function parseInterval(text: string): number | undefined {
  const src = text.trim().toLowerCase();
  if (!/^(\d+(\.\d+)?(s|min|m|h|d|w))+$/.test(src)) return undefined;
  let ms = 0;
  for (const m of src.matchAll(/(\d+(?:\.\d+)?)(s|min|m|h|d|w)/g)) ms += Number(m[1]) * UNITS[m[2]!]!;
  return ms >= 1000 && ms <= MAX_INTERVAL_MS ? Math.round(ms) : undefined;
}

/** An interval schedule; the first tick is one interval after `start`, then every interval from there. */
export function everySchedule(ms: number, text: string): Schedule {
  return {
    description: `every ${text.trim()}`,
    next: (after) => new Date(after.getTime() + ms),
  };
}

/** A cron schedule (five or six fields), read in UTC so that the machine's time zone does not move it. */
export function cronSchedule(expression: string): Schedule {
  const cron = new Cron(expression, { paused: true, timezone: 'UTC' });
  return {
    description: `cron ${expression.trim()} (UTC)`,
    next: (after) => cron.nextRun(after) ?? new Date(8.64e15),
  };
}

/**
 * Why `expression` is not a cron expression croner takes, in one line; undefined when it is one. One
 * that never fires (February 30th) is refused too: serve would otherwise wait for the year 275760.
 */
export function cronProblem(expression: string): string | undefined {
  try {
    const cron = new Cron(expression, { paused: true, timezone: 'UTC' });
    return cron.nextRun() ? undefined : 'it never fires: no such date comes';
  } catch (err) {
    return (err as Error).message.replace(/^CronPattern:\s*/, '');
  }
}
