// Restore a PostgreSQL backup: a clone is renamed into place; a dump is restored into a new database,
// checked, then swapped in; without CREATEDB a dump is restored into the live database in one transaction.
// In every case the live database is untouched until the new one is known good.
import type pg from 'pg';
import { SafeRunError } from '../../errors.js';
import { verifyClone } from './clone.js';
import { connectPg, ident, safeRunAppName, withAdmin } from './connect.js';
import type { TableCount } from './row-counts.js';
import { applyDatabaseProps, commentSql, type DatabaseProps } from './database-props.js';
import { pgFailure } from './errors.js';
import { runPgRestore, sha256File } from './load-dump.js';
import { createOwned, dropOwned, stageName } from './owned-db.js';
import { withToolEnv } from './passfile.js';
import { assertSameCounts, countRows } from './row-counts.js';
import { otherSessions, describeSessions, type PgSession } from './sessions.js';
import { swapInto } from './swap.js';
import { assertToolFits, type ToolOptions } from './tools.js';
import { locationOf, type PgTarget } from './url.js';
import type { DumpToVerify } from './verify.js';

export interface RestoreOptions extends ToolOptions {
  /** Disconnect other sessions on the live database instead of refusing. */
  force?: boolean;
}

/** What a restore did. */
export interface RestoreResult {
  method: 'clone-rename' | 'dump-swap' | 'dump-in-place';
  /** Where the replaced database is kept (swaps only); undefined when there was none or in place. */
  keptAs?: string;
  terminated: PgSession[];
  /** Database-level properties that could not be put back (e.g. an owner the role may not assign). */
  skipped: string[];
}

/**
 * Put a clone in place of `target`'s database by renames; the replaced database is kept as
 * `safe_run_old_…`. The clone stops being a backup (it is now live): with `keepClone`, a FILE_COPY of it
 * is swapped in instead, so the clone stays for another restore. Refuses while others use the live
 * database unless `force` (see swapInto). Given the CloneBackup (not just its name), the clone's row
 * counts are first checked against the recorded ones and its database-level properties put back.
 */
export async function restoreClone(target: PgTarget, clone: string | { database: string; tables?: TableCount[]; databaseProps?: DatabaseProps }, opts: RestoreOptions & { keepClone?: boolean } = {}): Promise<RestoreResult> {
  const location = locationOf(target);
  const cloneDb = typeof clone === 'string' ? clone : clone.database;
  const props = typeof clone === 'string' ? undefined : clone.databaseProps;
  if (typeof clone !== 'string' && clone.tables) {
    await verifyClone(target, { database: clone.database, tables: clone.tables }).catch((err: unknown) => {
      throw pgFailure(err, { kind: 'restore', stage: 'verify', database: location }, 'refusing to restore');
    });
  }
  return withAdmin(target, async (admin) => {
    const found = (await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [cloneDb])).rowCount! > 0;
    if (!found) throw new SafeRunError('restore', `the clone "${cloneDb}" no longer exists on the server`, { stage: 'restore', database: location, hint: 'list the backups with: safe-run list' });
    let source = cloneDb;
    if (opts.keepClone) {
      source = stageName();
      await createOwned(admin, source, `CREATE DATABASE ${ident(source)} TEMPLATE ${ident(cloneDb)} STRATEGY FILE_COPY`).catch(async (err) => {
        await dropOwned(admin, source).catch(() => {});
        throw pgFailure(err, { kind: 'restore', stage: 'restore', database: location }, 'cannot copy the clone');
      });
    }
    try {
      const skipped = props ? await applyDatabaseProps(admin, source, props) : [];
      const swapped = await swapInto(admin, target.database, source, { force: opts.force, location, comment: props?.comment });
      return { method: 'clone-rename' as const, ...swapped, skipped };
    } catch (err) {
      if (source !== cloneDb) await dropOwned(admin, source).catch(() => {});
      throw err;
    }
  }, { kind: 'restore', stage: 'restore' });
}

/**
 * Restore `dump` over `target`'s database. Checks the dump's sha256 first. With CREATEDB: restores into a
 * fresh database (same encoding, locale and owner as the live one), with --single-transaction and
 * --exit-on-error, compares every table's row count with the dump's, then swaps it in (swapInto); on any
 * failure the staged database is dropped and the live one is as it was. Without CREATEDB: pg_restore
 * --clean --if-exists --single-transaction into the live database, which either commits whole or leaves
 * it as it was; other sessions are refused, or with `force` terminated once.
 */
export async function restoreDump(target: PgTarget, dump: DumpToVerify, opts: RestoreOptions = {}): Promise<RestoreResult> {
  const location = locationOf(target);
  const ctx = { kind: 'restore' as const, stage: 'restore', database: location, secrets: [target.password], binDir: opts.binDir };
  const actual = await sha256File(dump.file).catch((err) => {
    throw pgFailure(err, ctx, `cannot read the dump ${dump.file}`);
  });
  if (actual !== dump.sha256) {
    throw new SafeRunError('restore', `the dump ${dump.file} does not match its checksum`, { stage: 'verify', database: location, hint: 'the backup is damaged; choose another one' });
  }
  return withAdmin(target, async (admin) => {
    const version = Number((await admin.query<{ v: string }>("SELECT current_setting('server_version_num') AS v")).rows[0]!.v);
    await assertToolFits('pg_restore', version, ctx);
    if (!(await mayCreateDatabases(admin))) return restoreInPlace(admin, target, dump, opts);
    const stage = stageName();
    try {
      await createOwned(admin, stage, await createLikeSql(admin, stage, target.database));
      await withToolEnv(target, safeRunAppName(), (env) =>
        runPgRestore(dump, ['--exit-on-error', '--single-transaction', '--no-password', `--dbname=${stage}`], env, ctx),
      );
      const c = await connectPg(target, { database: stage, kind: 'restore', stage: 'verify' });
      try {
        assertSameCounts(await countRows(c), dump.tables, { kind: 'restore', stage: 'verify', database: location, what: 'the restored copy' });
      } finally {
        await c.end().catch(() => {});
      }
      const skipped = dump.databaseProps ? await applyDatabaseProps(admin, stage, dump.databaseProps) : [];
      const swapped = await swapInto(admin, target.database, stage, { force: opts.force, location, comment: dump.databaseProps?.comment });
      return { method: 'dump-swap' as const, ...swapped, skipped };
    } catch (err) {
      await dropOwned(admin, stage).catch(() => {});
      throw pgFailure(err, ctx, 'restore failed, the live database is as it was');
    }
  }, { kind: 'restore', stage: 'restore' });
}

export async function restoreInPlace(admin: pg.Client, target: PgTarget, dump: DumpToVerify, opts: RestoreOptions): Promise<RestoreResult> {
  const location = locationOf(target);
  const ctx = { kind: 'restore' as const, stage: 'restore', database: location, secrets: [target.password], binDir: opts.binDir };
  const sessions = await otherSessions(admin, target.database);
  if (sessions.length > 0 && !opts.force) {
    throw new SafeRunError('restore', `cannot restore "${target.database}": ${sessions.length} other session(s) use it: ${describeSessions(sessions)}`, {
      stage: 'restore',
      database: location,
      hint: 'stop the application, or restore with --force to disconnect these sessions',
    });
  }
  // The restore itself must connect, so connections cannot be refused here: end the others once, and the
  // single transaction's locks keep late-comers from seeing a half-restored database.
  if (sessions.length > 0) await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()', [target.database]);
  try {
    await withToolEnv(target, safeRunAppName(), (env) =>
      runPgRestore(dump, ['--clean', '--if-exists', '--exit-on-error', '--single-transaction', '--no-password', `--dbname=${target.database}`], env, ctx),
    );
  } catch (err) {
    throw pgFailure(err, ctx, 'restore failed and was rolled back, the live database is as it was');
  }
  const c = await connectPg(target, { kind: 'restore', stage: 'verify' });
  try {
    assertSameCounts(await countRows(c), dump.tables, { kind: 'restore', stage: 'verify', database: location, what: 'the restored database' });
  } finally {
    await c.end().catch(() => {});
  }
  const skipped = dump.databaseProps ? await applyDatabaseProps(admin, target.database, dump.databaseProps) : [];
  if (dump.databaseProps) await admin.query(commentSql(target.database, dump.databaseProps.comment)).catch(() => {});
  return { method: 'dump-in-place', terminated: sessions, skipped };
}

/** Whether the session's role may CREATE DATABASE. */
export async function mayCreateDatabases(admin: pg.Client): Promise<boolean> {
  const r = await admin.query<{ ok: boolean }>('SELECT rolcreatedb OR rolsuper AS ok FROM pg_roles WHERE rolname = current_user');
  return r.rows[0]?.ok === true;
}

/** CREATE DATABASE `name` from template0 with `like`'s encoding, locale and owner (when it exists and we may). */
export async function createLikeSql(admin: pg.Client, name: string, like: string): Promise<string> {
  const r = await admin.query<{ enc: string; collate: string; ctype: string; owner: string; member: boolean }>(
    `SELECT pg_encoding_to_char(encoding) AS enc, datcollate AS collate, datctype AS ctype, pg_get_userbyid(datdba) AS owner,
            pg_has_role(current_user, datdba, 'MEMBER') AS member
       FROM pg_database WHERE datname = $1`,
    [like],
  );
  const d = r.rows[0];
  if (!d) return `CREATE DATABASE ${ident(name)} TEMPLATE template0`;
  const lit = (s: string) => `'${s.replace(/'/g, "''")}'`;
  return `CREATE DATABASE ${ident(name)} TEMPLATE template0 ENCODING ${lit(d.enc)} LC_COLLATE ${lit(d.collate)} LC_CTYPE ${lit(d.ctype)}${d.member ? ` OWNER ${ident(d.owner)}` : ''}`;
}
