// Engine-neutral errors: what any engine reports, so that the core explains failures without knowing
// which engine it talks to (and never imports an engine's own modules).

/** Why an engine could not do what was asked; the core maps each reason to a message and exit code. */
export type EngineFailure =
  /** The stored copy is not the bytes that were recorded (sha256 differs). */
  | 'checksum'
  /** The copy opens, but the engine's own check finds damage. */
  | 'check-failed'
  /** The file or dump is not a database of this engine at all. */
  | 'not-a-database'
  /** Other clients keep the database busy (a write lock, a metadata lock), longer than we may wait. */
  | 'busy'
  /** Other clients have the database open, and this operation cannot go ahead while they do. */
  | 'held-open'
  /** Someone opened the database between the checks and the swap: nothing was changed. */
  | 'opened-meanwhile'
  /** No space left where the engine had to write. */
  | 'no-space'
  /** The engine may not read or write where it must (file modes, a role without a privilege). */
  | 'permission'
  /** The database (or its server) is not there. */
  | 'missing'
  /** Writing where the database is would go through something it was not when backed up (a new link). */
  | 'unsafe-target'
  /** The engine cannot do this here (an old server, a missing tool, a strategy that does not apply). */
  | 'unsupported';

/**
 * A failure an engine explains itself: `message` says what went wrong in one line (no secrets), `hint`
 * what to do about it. The core adds which database and which step.
 */
export class EngineError extends Error {
  readonly failure: EngineFailure;
  readonly hint?: string;
  /** Processes or sessions involved (holders of the database), already described for a person. */
  readonly involved: string[];

  constructor(failure: EngineFailure, message: string, opts: { hint?: string; cause?: unknown; involved?: string[] } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'EngineError';
    this.failure = failure;
    this.hint = opts.hint;
    this.involved = opts.involved ?? [];
  }
}

/** The stored copy's sha256 differs from the recorded one. */
export function checksumMismatch(expected: string, actual: string): EngineError {
  return new EngineError('checksum', `sha256 mismatch: expected ${expected.slice(0, 12)}…, found ${actual.slice(0, 12)}…`, {
    hint: 'the backup changed on disk since it was taken; pick another backup with: safe-run list',
  });
}

/** The engine's integrity check failed; `result` keeps every complaint, the message the first real one. */
export class CheckFailedError extends EngineError {
  constructor(
    readonly result: string,
    hint?: string,
  ) {
    super('check-failed', `integrity check failed: ${summariseCheck(result)}`, { hint });
    this.name = 'CheckFailedError';
  }
}

/**
 * The first real complaint of an integrity check, on one line, at most 160 characters. SQLite starts
 * some reports with a bare "*** in database main ***" header line: that says nothing on its own.
 */
export function summariseCheck(result: string): string {
  const parts = result.split(/;\s*|\n/).map((p) => p.trim()).filter((p) => p !== '' && !/^\*\*\* in database \w+ \*\*\*$/.test(p));
  const first = parts[0] ?? result;
  const line = first.length > 160 ? `${first.slice(0, 159)}…` : first;
  return parts.length > 1 ? `${line} (and ${parts.length - 1} more)` : line;
}

export function isEngineError(err: unknown, failure?: EngineFailure): err is EngineError {
  return err instanceof EngineError && (failure === undefined || err.failure === failure);
}

/**
 * A restore step could not write where it had to: `beside` the live database (the staged copy) or in
 * the `store` (the database as it is now). Says where, so that the message blames the disk or the
 * permissions there, not the backup. `code` is the cause's (ENOSPC, EACCES, SQLITE_BUSY, …).
 */
export class RestorePlaceError extends EngineError {
  readonly code?: string;
  constructor(
    readonly place: 'beside' | 'store',
    readonly dir: string,
    cause: unknown,
  ) {
    const code = (cause as { code?: string } | undefined)?.code;
    const failure: EngineFailure = code === 'ENOSPC' || code === 'EDQUOT' || code === 'SQLITE_FULL' ? 'no-space' : code === 'EACCES' || code === 'EPERM' || code === 'EROFS' ? 'permission' : code === 'SQLITE_BUSY' ? 'busy' : 'unsupported';
    super(failure, cause instanceof Error ? cause.message : String(cause), { cause });
    this.name = 'RestorePlaceError';
    this.code = code;
  }
}
