// The one restore SQLite cannot do while the database is open: a WAL database whose page size changed.
import { EngineError } from './engine-errors.js';

/**
 * The backup has pages of another size than the live WAL database, which a process holds open: SQLite's
 * backup API cannot change the page size of a WAL database, and renaming under an open database would
 * corrupt it. Only with nobody holding it can the restored file be renamed in.
 */
export class WalPageSizeError extends EngineError {
  readonly code = 'WAL_PAGE_SIZE';
  constructor(
    readonly backupPageSize: number,
    readonly livePageSize: number,
    readonly heldBy: string[],
  ) {
    super(
      'held-open',
      `the database now has ${livePageSize}-byte pages and the backup ${backupPageSize}-byte ones; SQLite cannot change ` +
        `the page size of a WAL database through its backup API while it is open (held by ${heldBy.join(', ') || 'another process'})`,
      {
        hint: 'stop the processes that hold it open, then run the same command again: with nobody holding it, safe-run renames the restored file in',
        involved: heldBy,
      },
    );
    this.name = 'WalPageSizeError';
  }
}
