// Verification of a DuckDB snapshot: it opens read-only, and its row counts are the source's, taken
// under the same lock as the copy (counts.json). Checksums of the files are the caller's business.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { CheckLevel } from '../../config.js';
import type { SnapshotFacts } from '../engine.js';
import { CheckFailedError, EngineError } from '../engine-errors.js';
import { openSession } from './connect.js';
import { countDifferences, countTables, type TableCount } from './counts.js';
import { COUNTS_FILE, type CountsFile } from './snapshot.js';

const HINT = 'the copy does not hold what the database held; pick another backup with: safe-run list';

export async function readCountsFile(files: string[]): Promise<CountsFile> {
  const file = files.find((f) => path.basename(f) === COUNTS_FILE);
  if (!file) throw new EngineError('not-a-database', `this backup has no ${COUNTS_FILE}`, { hint: 'it was not taken by the DuckDB engine, or it is damaged' });
  try {
    return JSON.parse(await fs.readFile(file, 'utf8')) as CountsFile;
  } catch (err) {
    throw new EngineError('check-failed', `cannot read ${file}: ${(err as Error).message}`, { hint: HINT, cause: err });
  }
}

/** Open `file` read-only and count its tables (at `full`, reading every row). */
export async function countFile(file: string, level: CheckLevel): Promise<TableCount[]> {
  let session;
  try {
    session = await openSession(file, { readOnly: true });
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err);
    if (/not a valid DuckDB database|database file .* is not a valid/i.test(msg)) {
      throw new EngineError('not-a-database', `${file} is not a DuckDB database`, { hint: HINT, cause: err });
    }
    throw new EngineError('check-failed', `the copy does not open: ${msg.split('\n')[0]}`, { hint: HINT, cause: err });
  }
  try {
    // The instance's own database is named after the file, without its extension.
    const [[db]] = (await session.conn.runAndReadAll('SELECT current_database()')).getRowsJS() as [[string]];
    return await countTables(session.conn, db, level).catch((err: unknown) => {
      throw new CheckFailedError(err instanceof Error ? err.message.split('\n')[0]! : String(err), HINT);
    });
  } finally {
    session.close();
  }
}

/** The facts of a snapshot (its files as written by snapshotDuckdb), after checking it. */
export async function verifySnapshot(files: string[], level: CheckLevel): Promise<SnapshotFacts> {
  const expected = await readCountsFile(files);
  const actual = await countFile(files[0]!, level);
  const differences = countDifferences(actual, expected.tables);
  if (differences.length > 0) throw new CheckFailedError(differences.join('; '), HINT);
  return factsOf(actual, level);
}

export function factsOf(tables: TableCount[], level: CheckLevel, result?: string): SnapshotFacts {
  return {
    strategy: 'copy',
    tables: tables.map((t) => ({ name: t.name, rows: t.rows })),
    check: { level, result: result ?? `ok: opens read-only, row counts of ${tables.length} tables match the source${level === 'full' ? ', every row read' : ''}` },
  };
}
