// The dump strategy: mariadb-dump (or mysqldump) of one consistent snapshot into the backup target, and
// loading a dump into a schema of its own (a scratch or staged restore) with the client.
import { EngineError } from '../engine-errors.js';
import { myFailure, type MyConn } from './connect.js';
import { runTool, toolPath, withDefaultsFile } from './defaults-file.js';
import { scanDump, type DumpScan } from './dump-file.js';
import { createOwned } from './owned-schema.js';
import { countDifferences, countTables } from './shadow.js';
import { locationOf, type MyTarget } from './url.js';

/**
 * Dump `t`'s database into `file` (0600). --single-transaction gives one consistent snapshot of InnoDB
 * tables without locking them; MyISAM and other non-transactional tables are read at whatever state they
 * have when reached, and a schema change during the dump can break it (ERROR 1412) or the snapshot.
 * --skip-add-locks: a table whose DEFAULT is NEXT VALUE FOR a sequence would not reload otherwise.
 */
export async function dumpDatabase(t: MyTarget, file: string): Promise<DumpScan> {
  await withDefaultsFile(t, (first) =>
    runTool(toolPath('mariadb-dump'), [...first, '--single-transaction', '--routines', '--triggers', '--events', '--hex-blob', '--skip-add-locks', '--default-character-set=utf8mb4', '--', t.database], { output: file }),
  ).catch((err) => {
    throw myFailure(err, { kind: 'backup', stage: 'dump', database: locationOf(t), secrets: [t.password] }, 'mariadb-dump failed');
  });
  const scan = await scanDump(file);
  checkScan(scan);
  return scan;
}

/** Reject a dump that lacks its header or its completion line. */
export function checkScan(scan: DumpScan): void {
  if (!scan.header) throw new EngineError('not-a-database', 'this is not a mariadb-dump file (no dump header)', { hint: 'it was not taken by safe-run, or it is damaged; pick another backup' });
  if (!scan.completed) throw new EngineError('check-failed', 'the dump is cut short (no "Dump completed" line at its end)', { hint: 'the dump did not finish; pick another backup with: safe-run list' });
}

/**
 * Create `schema` (owned by `c`, partial), load the dump into it with the client, and check its row
 * counts against `expected`. The caller drops or keeps the schema.
 */
export async function loadDump(t: MyTarget, c: MyConn, file: string, schema: string, expected: DumpScan['tables'], note: string): Promise<void> {
  await createOwned(c, schema, note);
  await withDefaultsFile(t, (first) => runTool(toolPath('mariadb'), [...first, '--default-character-set=utf8mb4', '--', schema], { input: file })).catch((err) => {
    throw myFailure(err, { kind: 'restore', stage: 'load', database: locationOf(t), secrets: [t.password] }, 'loading the dump failed');
  });
  const differences = countDifferences(await countTables(c, schema), expected);
  if (differences.length > 0) throw new EngineError('check-failed', `the dump did not load whole: ${differences.join('; ')}`, { hint: 'pick another backup with: safe-run list' });
}
