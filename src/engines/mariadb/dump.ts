// The dump strategy: mariadb-dump (or mysqldump) of one consistent snapshot into the backup target, and
// loading a dump into a schema of its own (a scratch or staged restore) with the client.
import { spawn } from 'node:child_process';
import { chmod, mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EngineError } from '../engine-errors.js';
import { myFailure, type MyConn } from './connect.js';
import { runTool, toolPath, withDefaultsFile } from './defaults-file.js';
import { DumpScanner, type DumpScan } from './dump-file.js';
import { splitDump } from './dump-split.js';
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
  // The rows are counted as the dump streams past, on its way to the file: no second read of it.
  const scanner = new DumpScanner();
  await withDefaultsFile(t, (first) =>
    teeTool(toolPath('mariadb-dump'), [...first, '--single-transaction', '--routines', '--triggers', '--events', '--hex-blob', '--skip-add-locks', '--default-character-set=utf8mb4', '--', t.database], file, (chunk) => scanner.push(chunk)),
  ).catch((err) => {
    throw myFailure(err, { kind: 'backup', stage: 'dump', database: locationOf(t), secrets: [t.password] }, 'mariadb-dump failed');
  });
  const scan = scanner.result();
  checkScan(scan);
  return scan;
}

/** Run a tool whose stdout goes to `output` (0600, fsynced) and, chunk by chunk, to `onChunk`. */
async function teeTool(tool: string, args: string[], output: string, onChunk: (chunk: Buffer) => void): Promise<void> {
  const fh = await open(output, 'wx', 0o600);
  try {
    await new Promise<void>((resolve, reject) => {
      const child = spawn(tool, args, { stdio: ['ignore', 'pipe', 'pipe'] });
      let stderr = '';
      let writing = Promise.resolve();
      child.stderr!.on('data', (d) => (stderr += d));
      child.stdout!.on('data', (chunk: Buffer) => {
        onChunk(chunk);
        child.stdout!.pause();
        writing = writing.then(() => fh.write(chunk)).then(() => void child.stdout!.resume());
        writing.catch((err) => (child.kill(), reject(err)));
      });
      child.on('error', (err) => reject(Object.assign(new Error(`${tool}: ${err.message}`), { code: (err as { code?: string }).code })));
      child.on('close', (code, signal) => {
        void writing.then(() => (code === 0 ? resolve() : reject(new Error(stderr.trim() || `${tool} exited with ${code ?? signal}`))), reject);
      });
    });
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Reject a dump that lacks its header or its completion line. */
export function checkScan(scan: Omit<DumpScan, 'tables'>): void {
  if (!scan.header) throw new EngineError('not-a-database', 'this is not a mariadb-dump file (no dump header)', { hint: 'it was not taken by safe-run, or it is damaged; pick another backup' });
  if (!scan.completed) throw new EngineError('check-failed', 'the dump is cut short (no "Dump completed" line at its end)', { hint: 'the dump did not finish; pick another backup with: safe-run list' });
}

/**
 * Create `schema` (owned by `c`, partial), load the dump into it with the client, and check its row
 * counts against `expected`. The caller drops or keeps the schema.
 */
export async function loadDump(t: MyTarget, c: MyConn, file: string, schema: string, expected: DumpScan['tables'], note: string): Promise<void> {
  await createOwned(c, schema, note);
  const dir = await mkdtemp(join(tmpdir(), 'safe-run-mysplit-'));
  try {
    await chmod(dir, 0o700);
    const parts = expected.length >= 2 ? await splitDump(file, dir) : undefined;
    await withDefaultsFile(t, async (first) => {
      const load = (input: string) => runTool(toolPath('mariadb'), [...first, '--default-character-set=utf8mb4', '--', schema], { input });
      if (!parts) return load(file);
      // Tables two at a time (the tail's views and routines need every table), each file removed once loaded.
      const queue = [...parts.tables];
      const worker = async () => {
        for (let f = queue.shift(); f; f = queue.shift()) {
          await load(f);
          await rm(f, { force: true });
        }
      };
      await Promise.all([worker(), worker()]);
      await load(parts.tail);
    });
  } catch (err) {
    throw myFailure(err, { kind: 'restore', stage: 'load', database: locationOf(t), secrets: [t.password] }, 'loading the dump failed');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  const differences = countDifferences(await countTables(c, schema), expected);
  if (differences.length > 0) throw new EngineError('check-failed', `the dump did not load whole: ${differences.join('; ')}`, { hint: 'pick another backup with: safe-run list' });
}
