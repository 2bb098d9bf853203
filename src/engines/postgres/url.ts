// Parse a postgres:// URL plus the libpq environment (PGHOST, PGUSER, PGPASSWORD, PGSERVICE…) into one
// set of connection parameters that both `pg` and the server's own tools (pg_dump, psql) are given.
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { SafeRunError } from '../../errors.js';

/** Connection parameters, fully resolved so `pg` and libpq tools reach the same server as the same role. */
export interface PgTarget {
  /** Host name, IP address, or a Unix socket directory (starts with "/"). */
  host: string;
  port: number;
  user: string;
  /** The database the URL names. */
  database: string;
  /** Undefined when none was given: then ~/.pgpass (or PGPASSFILE) is consulted, as libpq does. */
  password?: string;
  /** Other libpq keywords (sslmode, sslrootcert, connect_timeout…), passed to the tools as PG* variables. */
  options: Record<string, string>;
}

/** What a URL means for safe-run. */
export interface ParsedPostgresUrl {
  target: PgTarget;
  /** The URL without its password: safe to print, log, and record as the backup's identity. */
  location: string;
  /** The name to use when the config gives none: the database's name. */
  defaultName: string;
}

const NO_HOST = 'safe-run-no-host.invalid';

/** libpq keyword → environment variable, for the keywords we pass on to the tools. */
export const OPTION_ENV: Record<string, string> = {
  sslmode: 'PGSSLMODE',
  sslcert: 'PGSSLCERT',
  sslkey: 'PGSSLKEY',
  sslrootcert: 'PGSSLROOTCERT',
  connect_timeout: 'PGCONNECT_TIMEOUT',
  target_session_attrs: 'PGTARGETSESSIONATTRS',
};

/** Whether a string is a URL this engine handles. */
export function isPostgresUrl(url: string): boolean {
  return /^postgres(ql)?:\/\//i.test(url);
}

/**
 * Parse `postgres://` / `postgresql://` URLs. Values missing from the URL come, in libpq's order, from
 * the service (`?service=` or PGSERVICE, read from PGSERVICEFILE / ~/.pg_service.conf /
 * PGSYSCONFDIR/pg_service.conf), then PGHOST, PGPORT, PGUSER, PGPASSWORD, PGDATABASE, then libpq's defaults
 * (the local socket directory if it exists, else localhost; port 5432; the OS user; a database named like
 * the user). Throws a `config` SafeRunError for anything else; the message never contains the password.
 */
export function parsePostgresUrl(url: string, env: NodeJS.ProcessEnv = process.env): ParsedPostgresUrl {
  if (!isPostgresUrl(url)) {
    throw new SafeRunError('config', `not a PostgreSQL URL: ${redactUrl(url)}`, {
      stage: 'config',
      hint: 'write it as postgres://user@host:5432/dbname',
    });
  }
  // libpq allows an empty host ("postgres://app@/db": the default host); WHATWG URL does not once there
  // are credentials, so parse with a placeholder and treat it as empty.
  const parts = /^(postgres(?:ql)?:\/\/)([^/?#]*@)?([^/?#@]*)(.*)$/is.exec(url);
  const noHost = parts !== null && parts[3] === '';
  let u: URL;
  try {
    u = new URL(noHost ? `${parts[1]}${parts[2] ?? ''}${NO_HOST}${parts[4]}` : url);
  } catch {
    // The URL's own error message would quote the password: leave it out.
    throw new SafeRunError('config', `cannot parse the PostgreSQL URL ${redactUrl(url)}`, {
      stage: 'config',
      hint: 'percent-encode special characters in the user and password (e.g. @ as %40)',
    });
  }
  const query: Record<string, string> = {};
  for (const [k, v] of u.searchParams) query[k] = v;
  const serviceName = query.service ?? env.PGSERVICE;
  delete query.service;
  const service = serviceName ? readService(serviceName, env) : {};
  const pick = (fromUrl: string, key: string, envName: string): string | undefined =>
    (fromUrl !== '' ? decodeURIComponent(fromUrl) : undefined) ?? query[key] ?? service[key] ?? env[envName];

  const host = pick(noHost ? '' : u.hostname.replace(/^\[|\]$/g, ''), 'host', 'PGHOST') ?? defaultHost();
  const portText = pick(u.port, 'port', 'PGPORT') ?? '5432';
  const port = Number(portText);
  if (!Number.isInteger(port) || port <= 0 || port > 65535) {
    throw new SafeRunError('config', `bad port "${portText}" in ${redactUrl(url)}`, { stage: 'config' });
  }
  const user = pick(u.username, 'user', 'PGUSER') ?? osUser(env);
  const password = pick(u.password, 'password', 'PGPASSWORD');
  const database = pick(u.pathname.replace(/^\//, ''), 'dbname', 'PGDATABASE') ?? user;
  for (const k of ['host', 'port', 'user', 'password', 'dbname']) delete query[k];
  const options: Record<string, string> = {};
  for (const k of Object.keys(OPTION_ENV)) {
    const v = query[k] ?? service[k] ?? env[OPTION_ENV[k]!];
    if (v !== undefined) options[k] = v;
  }
  const target: PgTarget = { host, port, user, database, options, ...(password !== undefined ? { password } : {}) };
  return { target, location: locationOf(target), defaultName: database };
}

/** The printable identity of a target: a URL with user, host, port and database, never the password. */
export function locationOf(t: PgTarget): string {
  const host = t.host.startsWith('/') ? `localhost` : t.host.includes(':') ? `[${t.host}]` : t.host;
  const q = t.host.startsWith('/') ? `?host=${encodeURIComponent(t.host)}` : '';
  return `postgres://${encodeURIComponent(t.user)}@${host}:${t.port}/${encodeURIComponent(t.database)}${q}`;
}

/** The same target pointed at another database on the same server (a clone, a scratch copy). */
export function withDatabase(t: PgTarget, database: string): PgTarget {
  return { ...t, database };
}

/** A URL with any password replaced by "***", for messages about URLs that did not parse. */
export function redactUrl(url: string): string {
  return url.replace(/^([a-z]+:\/\/[^:/@]*):[^@]*@/i, '$1:***@');
}

function defaultHost(): string {
  // libpq's compiled-in default on Debian is this socket directory; TCP localhost elsewhere.
  return existsSync('/var/run/postgresql') ? '/var/run/postgresql' : 'localhost';
}

function osUser(env: NodeJS.ProcessEnv): string {
  return env.USER ?? env.LOGNAME ?? 'postgres';
}

/** The keywords of one [section] of the first service file that has it (libpq's search order). */
function readService(name: string, env: NodeJS.ProcessEnv): Record<string, string> {
  const files = [
    env.PGSERVICEFILE ?? join(env.HOME ?? homedir(), '.pg_service.conf'),
    join(env.PGSYSCONFDIR ?? '/etc/postgresql-common', 'pg_service.conf'),
  ];
  for (const file of files) {
    if (!existsSync(file)) continue;
    let section: string | undefined;
    const found: Record<string, string> = {};
    let seen = false;
    for (const raw of readFileSync(file, 'utf8').split('\n')) {
      const line = raw.trim();
      if (line === '' || line.startsWith('#')) continue;
      const head = /^\[(.+)\]$/.exec(line);
      if (head) {
        section = head[1];
        if (section === name) seen = true;
        continue;
      }
      const eq = line.indexOf('=');
      if (section === name && eq > 0) found[line.slice(0, eq).trim()] = line.slice(eq + 1).trim();
    }
    if (seen) return found;
  }
  throw new SafeRunError('config', `PostgreSQL service "${name}" is not defined in any service file`, {
    stage: 'config',
    hint: `define [${name}] in ~/.pg_service.conf or point PGSERVICEFILE at the file that has it`,
  });
}
