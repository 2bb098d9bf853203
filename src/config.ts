// Find, read and validate the configuration; every default lives here.
import { existsSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Compression } from './files/compression.js';
import type { RetentionPolicy } from './core/retention.js';
import { parseDuration, parseSize } from './durations-and-sizes.js';
import { describeCause, SafeRunError } from './errors.js';
import { cronProblem, parseInterval } from './serve/schedule.js';

export type CheckLevel = 'quick' | 'full';

export interface DatabaseConfig {
  /** A short name for messages and the store ("app"). */
  name: string;
  /** A SQLite path (absolute after loading) or a database URL. */
  url: string;
  /** Engine options from the config entry ("strategy": "clone" | "dump" | "auto" for a server). */
  options?: Record<string, unknown>;
}

export interface Config {
  /** The config file this came from, absolute; undefined when none was found. */
  file?: string;
  /** The directory relative paths resolve against. */
  baseDir: string;
  databases: DatabaseConfig[];
  backupDir: string;
  logFile: string;
  check: CheckLevel;
  /** Store backup files compressed (engines whose files allow it: SQLite); false by default. */
  compress: Compression | false;
  /** doctor restores a damaged database from its newest good backup without asking. */
  autoRestore: boolean;
  /** The retention policy of `safe-run prune`; with `auto`, also applied after each run and backup. */
  retention?: RetentionConfig;
  /** When `safe-run serve` takes its scheduled backups (at most one of the two). */
  schedule?: ScheduleConfig;
  /**
   * false: backups are switched off (for ephemeral file systems where they would vanish anyway). A guarded
   * run then starts its command without a backup, warns, and logs why; backup and serve refuse.
   */
  enabled: boolean;
}

export interface ScheduleConfig {
  /** An interval as written ("12h") and in ms. */
  every?: { text: string; ms: number };
  /** A cron expression (UTC). */
  cron?: string;
}

export interface RetentionConfig extends RetentionPolicy {
  auto: boolean;
}

/** What `safe-run init` writes: bounded (at most ~20 automatic backups per database), explained in the README. */
export const RETENTION_DEFAULTS = { keepLast: 10, keepDaily: 7, keepWeekly: 4, auto: true };

/** The config keys of a retention policy and the command-line options that set them. */
export const RETENTION_KEYS = {
  keepLast: 'keep-last',
  keepHourly: 'keep-hourly',
  keepDaily: 'keep-daily',
  keepWeekly: 'keep-weekly',
  keepMonthly: 'keep-monthly',
  keepYearly: 'keep-yearly',
  maxAge: 'max-age',
  maxSize: 'max-size',
} as const;

/**
 * A retention policy from config values (or options, by their config key): counts are whole numbers of
 * at least 1 (a count of 0 would keep nothing it names), max-age a duration, max-size a size. `fail`
 * builds the error for one key.
 */
export function parseRetention(raw: Record<string, unknown>, fail: (key: string, what: string) => Error): RetentionPolicy {
  const policy: RetentionPolicy = {};
  for (const key of Object.keys(RETENTION_KEYS) as Array<keyof typeof RETENTION_KEYS>) {
    const v = raw[key];
    if (v === undefined) continue;
    if (key === 'maxAge') {
      const ms = typeof v === 'string' ? parseDuration(v) : undefined;
      if (ms === undefined) throw fail(key, 'must be a duration such as "12h", "30d", "8w" or "1y"');
      policy.maxAge = ms;
    } else if (key === 'maxSize') {
      const bytes = typeof v === 'string' || typeof v === 'number' ? parseSize(String(v)) : undefined;
      if (bytes === undefined) throw fail(key, 'must be a size such as "500MB", "5GB" or "2GiB"');
      policy.maxSize = bytes;
    } else {
      const n = typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : v;
      if (typeof n !== 'number' || !Number.isInteger(n) || n < 1) throw fail(key, 'must be a whole number of at least 1');
      policy[key] = n;
    }
  }
  return policy;
}

export const DEFAULTS = {
  backupDir: 'backups',
  logFile: 'logs/operations.json',
  check: 'quick' as CheckLevel,
  // Off by default: compressing costs time on the path of every guarded run (~6 s per GB with zstd -3 on
  // 2 cores, against ~1.4 s for the whole backup) and saves nothing on data that is already compressed.
  compress: false as Compression | false,
  autoRestore: false,
  enabled: true,
  /** serve's interval when neither --every nor the config's schedule says. */
  every: '12h',
};

export const CONFIG_FILE = 'safe-run.config.json';

/** Walk up from `cwd` to the first safe-run.config.json, or package.json with a "safe-run" key. */
export function findConfigFile(cwd: string): string | undefined {
  for (let dir = path.resolve(cwd); ; dir = path.dirname(dir)) {
    const own = path.join(dir, CONFIG_FILE);
    if (existsSync(own)) return own;
    const pkg = path.join(dir, 'package.json');
    if (existsSync(pkg)) {
      try {
        const parsed = JSON.parse(withoutBom(readFileSync(pkg, 'utf8'))) as Record<string, unknown>;
        if (parsed && typeof parsed === 'object' && 'safe-run' in parsed) return pkg;
      } catch {
        // a broken package.json that is not ours to judge: keep walking
      }
    }
    if (path.dirname(dir) === dir) return undefined;
  }
}

/** Editors on Windows save JSON with a byte-order mark, which JSON.parse rejects as "Unexpected token". */
function withoutBom(text: string): string {
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
}

function invalid(file: string, key: string, what: string): SafeRunError {
  return new SafeRunError('config', `invalid config ${file}: ${key} ${what}`, {
    stage: 'config',
    hint: `fix "${key}" in ${file}; see the README's "Configuration" section`,
  });
}

/** A URL with a scheme is a server database; anything else is a SQLite path. */
export function isUrl(value: string): boolean {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(value);
}

/**
 * A database as a path or URL → an absolute SQLite path (or the URL of a server database). A `sqlite:` or
 * `file:` URL's query string (`?mode=ro`, `?key=…`) and fragment are dropped: they are not part of the
 * file's name, and a key must never reach the log or a message.
 */
function resolveDbUrl(baseDir: string, url: string, what: string): string {
  if (/^(sqlite|file|duckdb):/i.test(url)) url = url.replace(/[?#].*$/s, '');
  // duckdb:app.duckdb or duckdb://app.duckdb: resolved like a SQLite path, and kept marked as DuckDB
  // (duckdb:///abs/path) so that a file with any name goes to the DuckDB engine.
  const duck = /^duckdb:(?:\/\/)?(.*)$/is.exec(url);
  if (duck) return `duckdb://${resolvePath(baseDir, decodeURIComponent(duck[1]!), what)}`;
  if (url.startsWith('sqlite:') && !url.startsWith('sqlite://')) url = url.slice('sqlite:'.length);
  if (url.startsWith('file:') && !url.startsWith('file://')) url = url.slice('file:'.length);
  if (url.startsWith('sqlite://')) url = url.slice('sqlite://'.length);
  if (url.startsWith('file://')) url = decodeURIComponent(url.slice('file://'.length));
  return isUrl(url) ? url : resolvePath(baseDir, url, what);
}

/**
 * A path from the config or the command line, absolute. `~` and `~/…` are the home directory, as in a
 * shell (JSON has no shell to expand them: `"logFile": "~/x"` used to create a directory named `~`);
 * `~user/…` is refused rather than guessed.
 */
function resolvePath(baseDir: string, p: string, what: string): string {
  if (p === '~' || p.startsWith('~/')) return path.join(os.homedir(), p.slice(1));
  if (p.startsWith('~')) {
    throw new SafeRunError('config', `${what} "${p}": only ~ and ~/… are expanded, not ~user`, {
      stage: 'config',
      hint: 'write the whole path, e.g. /home/user/…',
    });
  }
  return path.resolve(baseDir, p);
}

/** Validate the parsed JSON of a config; `file` is only for messages. */
export function parseConfig(raw: unknown, file: string, baseDir: string): Config {
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw invalid(file, '(top level)', 'must be an object');
  const obj = raw as Record<string, unknown>;
  const known = new Set(['databases', 'backupDir', 'logFile', 'check', 'compress', 'retention', 'autoRestore', 'schedule', 'enabled', '$schema']);
  for (const key of Object.keys(obj)) {
    if (!known.has(key)) throw invalid(file, key, 'is not a known key (databases, backupDir, logFile, check, compress, retention, autoRestore, schedule, enabled)');
  }
  const databases: DatabaseConfig[] = [];
  if (obj.databases !== undefined) {
    if (!Array.isArray(obj.databases)) throw invalid(file, 'databases', 'must be a list of { "name", "url" }');
    const seen = new Set<string>();
    obj.databases.forEach((entry: unknown, i: number) => {
      const key = `databases[${i}]`;
      if (typeof entry === 'string') entry = { url: entry };
      if (!entry || typeof entry !== 'object') throw invalid(file, key, 'must be { "name": …, "url": … }');
      const e = entry as Record<string, unknown>;
      for (const k of Object.keys(e)) {
        if (k !== 'name' && k !== 'url' && k !== 'strategy') throw invalid(file, `${key}.${k}`, 'is not a known key (name, url, strategy)');
      }
      if (e.strategy !== undefined && (typeof e.strategy !== 'string' || !/^[a-z-]+$/.test(e.strategy))) {
        throw invalid(file, `${key}.strategy`, 'must be a strategy name such as "auto", "clone" or "dump"');
      }
      if (typeof e.url !== 'string' || e.url.trim() === '') throw invalid(file, `${key}.url`, 'must be a non-empty string');
      const url = resolveDbUrl(baseDir, e.url, `${file}: ${key}.url`);
      const name = e.name === undefined ? defaultName(url) : e.name;
      if (typeof name !== 'string' || !/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(name)) {
        throw invalid(file, `${key}.name`, 'must be 1-64 letters, digits, ".", "_" or "-"');
      }
      if (seen.has(name)) throw invalid(file, `${key}.name`, `repeats the name "${name}"`);
      const twin = databases.find((d) => d.url === url);
      if (twin) throw invalid(file, `${key}.url`, `names the same database as "${twin.name}"`);
      seen.add(name);
      databases.push({ name, url, ...(e.strategy !== undefined ? { options: { strategy: e.strategy } } : {}) });
    });
  }
  const str = (key: 'backupDir' | 'logFile'): string => {
    const v = obj[key];
    if (v === undefined) return path.resolve(baseDir, DEFAULTS[key]);
    if (typeof v !== 'string' || v.trim() === '') throw invalid(file, key, 'must be a non-empty string');
    return resolvePath(baseDir, v, `${file}: ${key}`);
  };
  const check = obj.check ?? DEFAULTS.check;
  if (check !== 'quick' && check !== 'full') throw invalid(file, 'check', 'must be "quick" or "full"');
  const compress = obj.compress ?? DEFAULTS.compress;
  if (compress !== false && compress !== 'zstd' && compress !== 'gzip') throw invalid(file, 'compress', 'must be "zstd", "gzip" or false');
  const retention = obj.retention === undefined ? undefined : retentionConfig(obj.retention, file);
  const autoRestore = obj.autoRestore ?? DEFAULTS.autoRestore;
  if (typeof autoRestore !== 'boolean') throw invalid(file, 'autoRestore', 'must be true or false');
  const enabled = obj.enabled ?? DEFAULTS.enabled;
  if (typeof enabled !== 'boolean') throw invalid(file, 'enabled', 'must be true or false');
  const schedule = obj.schedule === undefined ? undefined : scheduleConfig(obj.schedule, file);
  return {
    file, baseDir, databases, backupDir: str('backupDir'), logFile: str('logFile'), check, compress, autoRestore, enabled,
    ...(retention ? { retention } : {}),
    ...(schedule ? { schedule } : {}),
  };
}

function scheduleConfig(raw: unknown, file: string): ScheduleConfig {
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw invalid(file, 'schedule', 'must be an object such as { "every": "12h" } or { "cron": "0 3 * * *" }');
  const r = raw as Record<string, unknown>;
  for (const key of Object.keys(r)) {
    if (key !== 'every' && key !== 'cron') throw invalid(file, `schedule.${key}`, 'is not a known key (every, cron)');
  }
  if (r.every !== undefined && r.cron !== undefined) throw invalid(file, 'schedule', 'takes "every" or "cron", not both');
  if (r.every !== undefined) {
    const ms = typeof r.every === 'string' ? parseInterval(r.every) : undefined;
    if (ms === undefined) throw invalid(file, 'schedule.every', 'must be an interval from a second to a year (366d) such as "30m", "12h" or "1d"');
    return { every: { text: (r.every as string).trim(), ms } };
  }
  if (r.cron !== undefined) {
    const problem = typeof r.cron === 'string' ? cronProblem(r.cron) : 'must be a string';
    if (problem) throw invalid(file, 'schedule.cron', `is not a cron expression such as "0 3 * * *" (${problem})`);
    return { cron: (r.cron as string).trim() };
  }
  return {};
}

function retentionConfig(raw: unknown, file: string): RetentionConfig {
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw invalid(file, 'retention', 'must be an object such as { "keepLast": 10, "auto": true }');
  const r = raw as Record<string, unknown>;
  for (const key of Object.keys(r)) {
    if (key !== 'auto' && !(key in RETENTION_KEYS)) throw invalid(file, `retention.${key}`, `is not a known key (${Object.keys(RETENTION_KEYS).join(', ')}, auto)`);
  }
  if (r.auto !== undefined && typeof r.auto !== 'boolean') throw invalid(file, 'retention.auto', 'must be true or false');
  const policy = parseRetention(r, (key, what) => invalid(file, `retention.${key}`, what));
  return { ...policy, auto: r.auto === true };
}

/** A name for a database given only by path or URL: its file name without extension. */
export function defaultName(url: string): string {
  const base = isUrl(url) ? (url.split('/').pop() ?? 'db').split('?')[0] ?? 'db' : path.basename(url);
  const stem = base.replace(/\.(sqlite3?|db3?|s3db|duckdb|ddb)$/i, '');
  const clean = stem.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^[^A-Za-z0-9]+/, '').slice(0, 64);
  return clean || 'db';
}

/** Load the config: `explicit` (from --config) or the first one found walking up from cwd. */
export function loadConfig(cwd: string, explicit?: string): Config {
  const file = explicit ? path.resolve(cwd, explicit) : findConfigFile(cwd);
  if (!file) return { ...parseConfig({}, '(defaults)', path.resolve(cwd)), file: undefined };
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'it is a directory' : describeCause(err);
    throw new SafeRunError('config', `cannot read config ${file}: ${why}`, {
      stage: 'config',
      hint: code === 'EISDIR' ? `give the file itself: --config ${path.join(file, CONFIG_FILE)}` : 'check the --config path',
      cause: err,
    });
  }
  text = withoutBom(text);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new SafeRunError('config', `invalid config ${file}: not valid JSON (${(err as Error).message})`, {
      stage: 'config',
      hint: 'fix the JSON syntax',
    });
  }
  if (path.basename(file) === 'package.json') {
    parsed = (parsed as Record<string, unknown>)['safe-run'];
  }
  return { ...parseConfig(parsed, file, path.dirname(file)), file };
}

/**
 * The databases one call works on: `--db` values (names from the config, or paths/URLs) when given,
 * otherwise every database of the config.
 */
export function selectDatabases(config: Config, cwd: string, selectors: string[]): DatabaseConfig[] {
  if (selectors.length === 0) return config.databases;
  const chosen: DatabaseConfig[] = [];
  for (const sel of selectors) {
    const byName = config.databases.find((d) => d.name === sel);
    if (byName) {
      chosen.push(byName);
      continue;
    }
    const url = resolveDbUrl(cwd, sel, '--db');
    const byUrl = config.databases.find((d) => d.url === url);
    chosen.push(byUrl ?? { name: uniqueName(defaultName(url), chosen), url });
  }
  return chosen;
}

function uniqueName(name: string, taken: DatabaseConfig[]): string {
  let candidate = name;
  for (let i = 2; taken.some((d) => d.name === candidate); i++) candidate = `${name}-${i}`;
  return candidate;
}
