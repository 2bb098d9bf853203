// Opening a live SQLite file as it is on disk (`immutable=1`): its bytes only, no locks, no -wal.
//
// `immutable=1` is a URI parameter, and URI filenames are a process-wide SQLite setting that
// better-sqlite3 takes from SQLITE_USE_URI once, when its addon first loads (at the first
// `new Database`). Every path safe-run opens is absolute (no "file:" prefix), so enabling URIs changes
// nothing else; the variable is put back at once, so the guarded command does not inherit it. When the
// addon was loaded before without it (a library user opened a database first), the immutable open fails
// and the caller proves the snapshot another way. The lock (lock/file-lock.ts) and the snapshot
// (engines/sqlite-snapshot.ts) open theirs through withUriFilenames: one of them is first in every run.
import { pathToFileURL } from 'node:url';

/**
 * Run `open` (the first `new Database` of this process, ideally) with URI filenames allowed; unless the
 * user turned them off (SQLITE_USE_URI=0), which is respected: the check then proves its snapshot the
 * other way.
 */
export function withUriFilenames<T>(open: () => T): T {
  const had = process.env.SQLITE_USE_URI;
  if (had === '0') return open();
  process.env.SQLITE_USE_URI = '1';
  try {
    return open();
  } finally {
    if (had === undefined) delete process.env.SQLITE_USE_URI;
    else process.env.SQLITE_USE_URI = had;
  }
}

/** The URI that opens `file` read-only as immutable: SQLite reads the file alone, ignoring any -wal. */
export function immutableUri(file: string): string {
  return `${pathToFileURL(file).href}?immutable=1`;
}
