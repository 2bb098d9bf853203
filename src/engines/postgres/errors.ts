// Turn what PostgreSQL, `pg` and the server's tools report into one-line SafeRunErrors with a hint,
// and make sure no password survives into a message.
import { SafeRunError, type ErrorKind } from '../../errors.js';

/** Where a failure happened, for the error's fields. */
export interface FailureContext {
  kind: ErrorKind;
  stage: string;
  /** The database's printable location or name. */
  database?: string;
  /** Secrets to scrub from the message (the password). */
  secrets?: Array<string | undefined>;
}

/** Replace every occurrence of each secret by "***". */
export function redact(text: string, secrets: Array<string | undefined> = []): string {
  let out = text;
  for (const s of secrets) if (s) out = out.split(s).join('***');
  return out;
}

/**
 * Map an error from `pg`, a socket, or a tool's stderr to a SafeRunError whose message is one line and
 * whose hint says what to try. Known causes: unreachable host, wrong password, missing database, missing
 * privilege, a database in use, a tool older than the server, a tool not installed. The original error
 * is kept as `cause` only after its message has been redacted.
 */
export function pgFailure(err: unknown, ctx: FailureContext, what?: string): SafeRunError {
  if (err instanceof SafeRunError) {
    if (!what || err.message.startsWith(what)) return err;
    // Keep the first failure's words and hint; say what it means for the operation as a whole.
    return new SafeRunError(ctx.kind, `${what}: ${err.message}`, { stage: err.stage ?? ctx.stage, database: err.database ?? ctx.database, hint: err.hint, cause: err });
  }
  const e = err as { code?: string; message?: string; errno?: number; syscall?: string; hostname?: string };
  const raw = redact(String(e?.message ?? err), ctx.secrets);
  // Tools print context lines ("pg_restore: while PROCESSING TOC:") before the error itself.
  const lines = raw.split('\n').map((l) => l.trim()).filter((l) => l !== '');
  const first = lines.find((l) => /\b(ERROR|FATAL|error):/.test(l)) ?? lines[0] ?? raw;
  const where = ctx.database ? ` (${ctx.database})` : '';
  const make = (message: string, hint: string, kind: ErrorKind = ctx.kind) => {
    const cause = new Error(raw);
    (cause as { code?: string }).code = e?.code;
    return new SafeRunError(kind, `${what ? what + ': ' : ''}${message}${where}`, {
      stage: ctx.stage,
      database: ctx.database,
      hint,
      cause,
    });
  };
  const code = e?.code;
  if (code === 'ECONNREFUSED' || /Connection refused|could not connect to server/i.test(raw)) {
    return make('cannot reach the PostgreSQL server: connection refused', 'check the host and port, and that the server is running and listening there');
  }
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN' || /could not translate host name/i.test(raw)) {
    return make('cannot reach the PostgreSQL server: unknown host', 'check the host name in the URL or PGHOST');
  }
  if (code === 'ETIMEDOUT' || code === 'EHOSTUNREACH' || /timeout expired|timed out/i.test(raw)) {
    return make('cannot reach the PostgreSQL server: timed out', 'check the host, the port and any firewall in between');
  }
  if (code === '28P01' || /password authentication failed/i.test(raw)) {
    return make('wrong password for the PostgreSQL role', 'check the password in the URL, PGPASSWORD or ~/.pgpass');
  }
  if (code === '28000' || /no pg_hba\.conf entry|FATAL:\s+role ".*" does not exist/i.test(raw)) {
    return make(`the server refused the login: ${first}`, 'check the user name and the server\'s pg_hba.conf');
  }
  if (code === '3D000' || /database ".*" does not exist/i.test(raw)) {
    return make(first.replace(/^(FATAL|ERROR):\s*/, ''), 'check the database name in the URL; list them with: psql -l');
  }
  if (code === '42501' || /permission denied|must be owner|must have CREATEDB/i.test(raw)) {
    return make(`missing privilege: ${first.replace(/^.*?(ERROR|FATAL):\s*/, '')}`, 'run as the database owner, or grant the role CREATEDB (ALTER ROLE … CREATEDB)');
  }
  if (code === '55006' || /being accessed by other users/i.test(raw)) {
    return make(first.replace(/^.*?ERROR:\s*/, ''), 'close the other sessions, or use the dump strategy, which works while others are connected');
  }
  if (/server version mismatch/i.test(raw)) {
    return make(`${first.replace(/^.*?error:\s*/, '')}`, 'install the PostgreSQL client tools of the server\'s major version (or newer) and put them first on PATH');
  }
  if (/unsupported version \(.*\) in file header/i.test(raw)) {
    return make('the dump was written by a newer pg_dump than this pg_restore', 'restore with the PostgreSQL client tools of the version that made the dump (or newer)');
  }
  if (code === 'ENOSPC' || /No space left on device/i.test(raw)) {
    return make('no space left on the device', 'free some space or back up to another disk');
  }
  return make(serverMessage(first), 'run again with --debug for the full message');
}

/** The server's own words in a tool's line ("pg_restore: error: could not execute query: ERROR:  x" → "x"). */
function serverMessage(line: string): string {
  const server = /(?:ERROR|FATAL):\s+(.*)$/.exec(line);
  if (server) return server[1]!;
  return line.replace(/^[a-z_]+:\s+(error:\s+)?/i, '');
}
