// Prove a dump is what was backed up. `pg_restore --list` alone is not enough: a custom-format dump cut
// short still lists (its TOC is at the front), so `quick` also reads every data block, and `full` restores
// it into a scratch database and compares every table's row count (only a restore proves a backup).
import type { CheckLevel } from '../../config.js';
import type { DatabaseProps } from './database-props.js';
import { SafeRunError } from '../../errors.js';
import { connectPg, ident, safeRunAppName, withAdmin } from './connect.js';
import { pgFailure } from './errors.js';
import { runPgRestore, sha256File, type DumpFile } from './load-dump.js';
import { createOwned, dropOwned, stageName } from './owned-db.js';
import { withToolEnv } from './passfile.js';
import { assertSameCounts, countRows, type TableCount } from './row-counts.js';
import { startTool, type ToolOptions } from './tools.js';
import { locationOf, type PgTarget } from './url.js';

/** What verification needs to know about a dump. */
export interface DumpToVerify extends DumpFile {
  sha256: string;
  tables: TableCount[];
  databaseProps?: DatabaseProps;
}

/** What a verification found. */
export interface DumpCheck {
  level: CheckLevel;
  /** Number of TABLE DATA entries in the dump's table of contents. */
  tableDataEntries: number;
  /** "ok", or at `full`, "ok: N tables restored and counted". */
  result: string;
}

/**
 * Check `dump` at `level` without touching the live database. Both levels: the file's sha256 must equal
 * the recorded one; a zstd frame must test whole; the TOC (pg_restore --list) must hold one TABLE DATA
 * entry per counted table; and pg_restore must read every data block (to /dev/null). `full` also restores
 * it into a scratch database on `target`'s server (dropped afterwards) and compares every table's row count
 * with the counts taken when it was dumped. Rejects with a `backup` SafeRunError saying what is wrong.
 */
export async function verifyDump(target: PgTarget, dump: DumpToVerify, level: CheckLevel, opts: ToolOptions = {}): Promise<DumpCheck> {
  const location = locationOf(target);
  const ctx = { kind: 'backup' as const, stage: 'verify', database: location, binDir: opts.binDir };
  const bad = (what: string, hint = 'take the backup again; this file cannot be trusted') => new SafeRunError('backup', `the dump ${dump.file} ${what}`, { stage: 'verify', database: location, hint });
  let actual: string;
  try {
    actual = await sha256File(dump.file);
  } catch (err) {
    throw pgFailure(err, ctx, `cannot read the dump ${dump.file}`);
  }
  if (actual !== dump.sha256) throw bad(`does not match its checksum (sha256 ${actual.slice(0, 12)}…, recorded ${dump.sha256.slice(0, 12)}…)`);
  return withToolEnv(target, safeRunAppName(), async (env) => {
    if (dump.compression === 'zstd') {
      // zstd's frame checksum catches a cut or damaged file before pg_restore sees it.
      await startTool('zstd', ['-t', '-q', dump.file], env, ctx).done.catch((err) => {
        throw bad(`is damaged or cut short (${(err as Error).message})`);
      });
    }
    const toc = await runPgRestore(dump, ['--list'], env, ctx).catch((err) => {
      throw bad(`is not a readable pg_dump archive (${(err as Error).message})`);
    });
    const tableDataEntries = toc.split('\n').filter((l) => /^\d+; \d+ \d+ TABLE DATA /.test(l)).length;
    if (tableDataEntries !== dump.tables.length) throw bad(`lists ${tableDataEntries} tables' data, ${dump.tables.length} were counted when it was made`);
    await runPgRestore(dump, ['--file=/dev/null'], env, ctx).catch((err) => {
      throw bad(`cannot be read through (${(err as Error).message})`);
    });
    if (level === 'quick') return { level, tableDataEntries, result: 'ok' };
    const counts = await restoreAndCount(target, dump, env, opts);
    assertSameCounts(counts, dump.tables, { kind: 'backup', stage: 'verify', database: location, what: `the dump ${dump.file} restored` });
    return { level, tableDataEntries, result: `ok: ${counts.length} tables restored and counted` };
  });
}

/** Restore into a fresh scratch database, count every table, drop it. */
async function restoreAndCount(target: PgTarget, dump: DumpFile, env: NodeJS.ProcessEnv, opts: ToolOptions): Promise<TableCount[]> {
  const location = locationOf(target);
  return withAdmin(target, async (admin) => {
    const scratch = stageName();
    try {
      await createOwned(admin, scratch, `CREATE DATABASE ${ident(scratch)} TEMPLATE template0`);
      await runPgRestore(dump, ['--exit-on-error', '--single-transaction', '--no-password', `--dbname=${scratch}`], env, {
        kind: 'backup',
        stage: 'verify',
        database: location,
        binDir: opts.binDir,
      });
      const c = await connectPg(target, { database: scratch, kind: 'backup', stage: 'verify' });
      try {
        return await countRows(c);
      } finally {
        await c.end().catch(() => {});
      }
    } finally {
      await dropOwned(admin, scratch).catch(() => {});
    }
  }, { kind: 'backup', stage: 'verify' });
}
