// Parse mysql:// and mariadb:// URLs without connecting: where the server is, which database, and the
// password (kept out of every printable form). Missing credentials come from the usual option files.
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { SafeRunError } from '../../errors.js';

/** Everything needed to reach one database; `password` never leaves this process except in a 0600 file. */
export interface MyTarget {
  scheme: string;
  host: string;
  port: number;
  user: string;
  password?: string;
  database: string;
  /** A Unix socket path (?socket=…), used instead of host and port. */
  socket?: string;
}

export interface ParsedMyUrl {
  target: MyTarget;
  /** The URL without its password: the database's identity, safe to print. */
  location: string;
  defaultName: string;
}

export function isMyUrl(url: string): boolean {
  return /^(mysql|mariadb):\/\//i.test(url);
}

/** Parse a URL; throws a `config` SafeRunError that never contains the password. */
export function parseMyUrl(url: string): ParsedMyUrl {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new SafeRunError('config', `not a valid MariaDB URL: ${url.replace(/:[^:@/]*@/, ':***@')}`, { stage: 'config', hint: 'use mysql://user:password@host:3306/database' });
  }
  const database = decodeURIComponent(u.pathname.replace(/^\//, ''));
  if (!database || database.includes('/')) {
    throw new SafeRunError('config', `the MariaDB URL names no database: ${locationOf({ scheme: u.protocol.slice(0, -1), host: u.hostname, port: Number(u.port || 3306), user: decodeURIComponent(u.username), database })}`, {
      stage: 'config',
      hint: 'put the database after the host: mysql://user@host:3306/database',
    });
  }
  const fromFiles = optionFileClient();
  const user = decodeURIComponent(u.username) || fromFiles.user || process.env.USER || 'root';
  const password = u.password !== '' ? decodeURIComponent(u.password) : (fromFiles.user === undefined || fromFiles.user === user ? fromFiles.password : undefined);
  const target: MyTarget = {
    scheme: u.protocol.slice(0, -1).toLowerCase(),
    host: u.hostname || fromFiles.host || '127.0.0.1',
    port: Number(u.port || fromFiles.port || 3306),
    user,
    database,
    ...(password !== undefined ? { password } : {}),
    ...(u.searchParams.get('socket') ? { socket: u.searchParams.get('socket')! } : {}),
  };
  return { target, location: locationOf(target), defaultName: database };
}

/** The printable identity: scheme://user@host:port/database (never the password). */
export function locationOf(t: Pick<MyTarget, 'scheme' | 'host' | 'port' | 'user' | 'database'>): string {
  return `${t.scheme}://${encodeURIComponent(t.user)}@${t.host}:${t.port}/${encodeURIComponent(t.database)}`;
}

/**
 * The [client] (and [mysql], [mariadb], [client-mariadb]) settings of ~/.my.cnf (or MYSQL_HOME/my.cnf),
 * as the server's own tools read them. Only user, password, host and port are taken.
 */
export function optionFileClient(): { user?: string; password?: string; host?: string; port?: string } {
  const out: Record<string, string> = {};
  for (const file of [process.env.MYSQL_HOME ? join(process.env.MYSQL_HOME, 'my.cnf') : undefined, join(process.env.HOME ?? homedir(), '.my.cnf')]) {
    if (!file || !existsSync(file)) continue;
    let section = '';
    for (const raw of readFileSync(file, 'utf8').split('\n')) {
      const line = raw.trim();
      if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
      const s = /^\[(.+)\]$/.exec(line);
      if (s) {
        section = s[1]!.trim().toLowerCase();
        continue;
      }
      if (!['client', 'mysql', 'mariadb', 'client-mariadb'].includes(section)) continue;
      const kv = /^([a-z_-]+)\s*=\s*(.*)$/i.exec(line);
      if (kv && ['user', 'password', 'host', 'port'].includes(kv[1]!.toLowerCase())) out[kv[1]!.toLowerCase()] = unquote(kv[2]!);
    }
  }
  return out;
}

function unquote(v: string): string {
  const m = /^(["'])(.*)\1$/.exec(v.trim());
  return m ? m[2]!.replace(/\\(.)/g, '$1') : v.trim();
}
