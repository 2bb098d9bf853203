// Typed errors and the one exit-code table of safe-run (copied into the README).

/** What went wrong, as a category the CLI maps to an exit code. */
export type ErrorKind =
  | 'usage' // bad arguments, unknown id, a prompt needed without a TTY
  | 'config' // config file missing keys, wrong types, unreadable
  | 'backup' // a backup could not be made or did not verify
  | 'restore' // a restore was refused or failed; the live database is as it was
  | 'locked' // another safe-run holds the database, or its lock cannot be taken (no permission beside it)
  | 'log' // the operation log or the store cannot be read safely
  | 'log' // the operation log or the store cannot be read (or written) safely
  | 'damaged' // doctor found a damaged database and did not repair it
  | 'stale' // verify --max-age: a database has no verified backup younger than the limit
  | 'export' // an export could not be written or did not read back; nothing was left at its place
  | 'interrupted' // Ctrl-C or a signal
  | 'internal'; // a bug

/** Exit codes of every subcommand except the guarded run. */
export const EXIT = {
  ok: 0,
  internal: 1,
  usage: 2,
  config: 2,
  backup: 3,
  restore: 4,
  locked: 5,
  log: 6,
  damaged: 7,
  stale: 8,
  export: 9,
  interrupted: 130,
} as const;

/** Exit codes of a guarded run (`safe-run -- cmd`), following env, nice and timeout. */
export const RUN_EXIT = {
  /** safe-run itself failed (backup, lock, config, log); the command was not started. */
  safeRunFailed: 125,
  /** The command was found but could not be executed. */
  notExecutable: 126,
  /** The command was not found. */
  notFound: 127,
} as const;

export interface SafeRunErrorDetails {
  /** The step that failed: "lock", "backup", "verify", "restore", "config", … */
  stage?: string;
  /** The database's name, when the error concerns one. */
  database?: string;
  backupId?: string;
  /** One line that tells the user what to try next. */
  hint?: string;
  cause?: unknown;
}

export class SafeRunError extends Error {
  readonly kind: ErrorKind;
  readonly stage?: string;
  readonly database?: string;
  readonly backupId?: string;
  readonly hint?: string;

  constructor(kind: ErrorKind, message: string, details: SafeRunErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = 'SafeRunError';
    this.kind = kind;
    this.stage = details.stage;
    this.database = details.database;
    this.backupId = details.backupId;
    this.hint = details.hint;
  }
}

export function exitCodeFor(err: unknown): number {
  if (err instanceof SafeRunError) return EXIT[err.kind === 'internal' ? 'internal' : err.kind];
  return EXIT.internal;
}

/** The system error code (ENOENT, ENOSPC, …) of an error or of its causes. */
export function errnoOf(err: unknown): string | undefined {
  for (let e: unknown = err, depth = 0; e && depth < 5; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && /^E[A-Z]+$/.test(code)) return code;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

/** A short human explanation of an I/O or SQLite error, for one-line messages. */
export function describeCause(err: unknown): string {
  const code = errnoOf(err);
  switch (code) {
    case 'ENOSPC':
      return 'no space left on the device';
    case 'EDQUOT':
      return 'disk quota exceeded';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'EROFS':
      return 'read-only file system';
    case 'ENOENT':
      return 'no such file or directory';
    case 'EISDIR':
      return 'is a directory';
  }
  const sqliteCode = (err as { code?: unknown } | undefined)?.code;
  if (sqliteCode === 'SQLITE_NOTADB') return 'file is not a database';
  if (sqliteCode === 'SQLITE_CORRUPT') return 'database disk image is malformed';
  if (sqliteCode === 'SQLITE_FULL') return 'no space left on the device';
  if (sqliteCode === 'SQLITE_CANTOPEN') return 'unable to open the database file';
  if (sqliteCode === 'SQLITE_READONLY') return 'the file is read-only';
  const message = err instanceof Error ? err.message : String(err);
  return message.split('\n')[0] ?? message;
}
