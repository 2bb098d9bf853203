// The PostgreSQL engine: the building blocks of this folder behind the Engine interface.
//
// A backup is either a clone on the server (strategy `clone`: its files are one `clone.json` that names
// the copy and its row counts) or a pg_dump file beside a `dump.json` with the counts taken in the dump's
// own snapshot (strategy `dump`). `auto` clones when it can and dumps when the database is in use or the
// role may not clone it. A restore puts a prepared database in place by renames and keeps the replaced
// one, renamed, as the safety backup; without CREATEDB a dump is restored in place in one transaction,
// after a dump of the database as it is now has been kept.
import { promises as fs } from 'node:fs';
import type pg from 'pg';
import type { CheckLevel } from '../../config.js';
import { SafeRunError } from '../../errors.js';
import { writePrivateJson } from '../../files/private-json.js';
import { sha256File } from '../../files/sha256.js';
import type { DatabaseDiff } from '../diff-types.js';
import type {
  BackupTarget,
  DiffOptions,
  DiffSide,
  Engine,
  EngineLock,
  EngineLockOptions,
  KeptDatabase,
  ServerCopy,
  SnapshotFacts,
  SnapshotOutput,
  StagedRestore,
  StoredSnapshot,
} from '../engine.js';
import { checksumMismatch, CheckFailedError, EngineError } from '../engine-errors.js';
import { lockDatabase } from './advisory-lock.js';
import { backupDatabase, type BackupStrategy } from './backup.js';
import { countsOf, dropClone } from './clone.js';
import { connectPg, ident, MAINTENANCE_DB, safeRunAppName, withAdmin } from './connect.js';
import { applyDatabaseProps, readDatabaseProps, type DatabaseProps } from './database-props.js';
import { dumpDatabase, type DumpCompression } from './dump.js';
import { toSafeRunDiff } from './diff-adapter.js';
import { removeLeftovers } from './leftovers.js';
import { createOwned, dropOwned, markKept, replacedName, stageName } from './owned-db.js';
import { createLikeSql, mayCreateDatabases, restoreInPlace } from './restore.js';
import { countDifferences, countRows, type TableCount } from './row-counts.js';
import { runPgRestore } from './load-dump.js';
import { withToolEnv } from './passfile.js';
import type { PgSession } from './sessions.js';
import { swapInto } from './swap.js';
import { withDatabase, type ParsedPostgresUrl, type PgTarget } from './url.js';
import { verifyDump } from './verify.js';

const CLONE_FILE = 'clone.json';
const DUMP_FILE = 'dump.pgc';
const DUMP_FACTS = 'dump.json';

/** What `clone.json` says: the copy on the server and its row counts when taken. */
interface CloneFacts {
  strategy: 'clone';
  database: string;
  tables: TableCount[];
  databaseProps?: DatabaseProps;
  fellBackBecause?: undefined;
}

/** What `dump.json` says beside the dump. */
interface DumpFacts {
  strategy: 'dump';
  compression: DumpCompression;
  sha256: string;
  tables: TableCount[];
  databaseProps?: DatabaseProps;
  serverVersion: number;
  fellBackBecause?: string;
}

const STRATEGIES = new Set(['auto', 'clone', 'dump']);

export class PostgresEngine implements Engine {
  readonly kind = 'postgres';
  readonly capabilities = { diff: true, restoreWhileOpen: false, serverSideClone: true, compressFiles: false };
  readonly missing = { what: 'database on the server (it does not exist)', hint: 'check the database name in the URL (psql -l lists them); safe-run never creates a database' };
  readonly location: string;
  readonly lockKey: string;
  private readonly target: PgTarget;
  private readonly strategy: BackupStrategy;

  constructor(
    readonly name: string,
    parsed: ParsedPostgresUrl,
    options: Record<string, unknown> = {},
  ) {
    const strategy = options.strategy ?? 'auto';
    if (typeof strategy !== 'string' || !STRATEGIES.has(strategy)) {
      throw new SafeRunError('config', `database "${name}": unknown strategy "${String(strategy)}"`, {
        stage: 'config',
        database: name,
        hint: 'use "auto" (clone when possible, else dump), "clone" or "dump"',
      });
    }
    this.strategy = strategy as BackupStrategy;
    this.target = parsed.target;
    this.location = parsed.location;
    this.lockKey = parsed.location;
  }

  /** Nothing to make ready: the server creates what a restore needs. */
  async prepareRestore(): Promise<void> {}

  async exists(): Promise<boolean> {
    return withAdmin(this.target, async (admin) => (await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [this.target.database])).rowCount! > 0, {
      kind: 'backup',
      stage: 'connect',
    });
  }

  async size(): Promise<number> {
    return withAdmin(this.target, async (admin) => {
      const r = await admin.query<{ s: string | null }>('SELECT pg_database_size(datname)::text AS s FROM pg_database WHERE datname = $1', [this.target.database]);
      return Number(r.rows[0]?.s ?? 0);
    });
  }

  async lock(opts: EngineLockOptions): Promise<EngineLock> {
    // Held on the server itself, so two machines (or two stores) guarding one database exclude each other.
    try {
      return await lockDatabase(this.target, { waitMs: 0 });
    } catch (err) {
      if (!(err instanceof SafeRunError) || err.kind !== 'locked' || opts.waitMs === 0) throw err;
      opts.onWait?.(undefined);
      return lockDatabase(this.target, { waitMs: opts.waitMs });
    }
  }

  async snapshot(target: BackupTarget): Promise<SnapshotOutput> {
    const made = await backupDatabase(this.target, this.strategy, { backupId: target.id, dumpFile: target.file(DUMP_FILE) });
    if (made.strategy === 'clone') {
      const facts: CloneFacts = { strategy: 'clone', database: made.database, tables: made.tables, databaseProps: made.databaseProps };
      await writePrivateJson(target.file(CLONE_FILE), facts);
      const size = await this.databaseSize(made.database).catch(() => undefined);
      return { files: [CLONE_FILE], serverCopy: { name: made.database, ...(size !== undefined ? { size } : {}) } };
    }
    const facts: DumpFacts = {
      strategy: 'dump',
      compression: made.compression,
      sha256: made.sha256,
      tables: made.tables,
      databaseProps: made.databaseProps,
      serverVersion: made.serverVersion,
      ...(made.fellBackBecause ? { fellBackBecause: made.fellBackBecause } : {}),
    };
    await writePrivateJson(target.file(DUMP_FACTS), facts);
    return { files: [DUMP_FILE, DUMP_FACTS] };
  }

  async verify(snapshot: { files: string[]; serverCopy?: ServerCopy }, level: CheckLevel): Promise<SnapshotFacts> {
    return this.verifyDescribed(await readFacts(snapshot.files), snapshot.files[0]!, level);
  }

  /** The check of `verify`, for a backup whose clone.json or dump.json was already read. */
  private async verifyDescribed(described: CloneFacts | DumpFacts, main: string, level: CheckLevel): Promise<SnapshotFacts> {
    if (described.strategy === 'clone') {
      const counts = await countsOf(this.target, described.database).catch((err) => {
        throw new EngineError('missing', `the clone ${described.database} cannot be read on the server: ${(err as Error).message}`, {
          hint: 'it was dropped or renamed outside safe-run; pick another backup with: safe-run list',
          cause: err,
        });
      });
      const differences = countDifferences(counts, described.tables);
      if (differences.length > 0) throw new CheckFailedError(differences.join('; '), 'the clone changed since it was taken; pick another backup');
      return factsOf('clone', described.tables, level, 'ok: row counts match the source');
    }
    const check = await verifyDump(this.target, { file: main, compression: described.compression, sha256: described.sha256, tables: described.tables }, level);
    return factsOf('dump', described.tables, level, check.result, described.fellBackBecause);
  }

  async stageRestore(snapshot: StoredSnapshot, level: CheckLevel, keepOld?: BackupTarget): Promise<StagedRestore> {
    for (const f of snapshot.files) {
      const actual = await sha256File(f.path);
      if (actual !== f.sha256) throw checksumMismatch(f.sha256, actual);
    }
    const described = await readFacts(snapshot.files.map((f) => f.path));
    const facts = await this.verifyDescribed(described, snapshot.files[0]!.path, level);
    const admin = await connectPg(this.target, { database: MAINTENANCE_DB, kind: 'restore', stage: 'restore' });
    let prepared: string | undefined;
    try {
      const live = await this.existsOn(admin);
      const inPlace = described.strategy === 'dump' && !(await mayCreateDatabases(admin));
      // The database that will take the live name: a FILE_COPY of the clone (the clone stays a backup),
      // or the dump restored into a fresh database and counted. Nothing touches the live database yet.
      if (!inPlace) {
        prepared = stageName();
        if (described.strategy === 'clone') {
          await createOwned(admin, prepared, `CREATE DATABASE ${ident(prepared)} TEMPLATE ${ident(described.database)} STRATEGY FILE_COPY`);
        } else {
          await createOwned(admin, prepared, await createLikeSql(admin, prepared, this.target.database));
          await withToolEnv(this.target, safeRunAppName(), (env) =>
            runPgRestore({ file: snapshot.files[0]!.path, compression: described.compression }, ['--exit-on-error', '--single-transaction', '--no-password', `--dbname=${prepared}`], env, {
              kind: 'restore',
              stage: 'stage',
              database: this.location,
            }),
          );
        }
        const counts = await countsOf(this.target, prepared);
        const differences = countDifferences(counts, described.tables);
        if (differences.length > 0) throw new CheckFailedError(differences.join('; '), 'the backup did not restore whole; pick another backup');
      }
      const old = keepOld && live ? await this.keepOld(admin, keepOld, level, inPlace) : undefined;
      return this.staged(admin, facts, described, prepared, old, snapshot.files[0]!.path);
    } catch (err) {
      if (prepared) await dropOwned(admin, prepared).catch(() => undefined);
      await admin.end().catch(() => undefined);
      throw err;
    }
  }

  async removeLeftovers(): Promise<string[]> {
    return removeLeftovers(this.target);
  }

  /** Drop a backup's clone (a backup being pruned). */
  async dropServerCopy(copy: ServerCopy): Promise<void> {
    await dropClone(this.target, copy.name);
  }

  async diff(before: DiffSide, after: DiffSide, opts: DiffOptions = {}): Promise<DatabaseDiff> {
    const scratch: string[] = [];
    try {
      const sideTarget = async (side: DiffSide): Promise<PgTarget> => {
        if ('live' in side) return this.target;
        const described = await readFacts(side.snapshot.files.map((f) => f.path));
        if (described.strategy === 'clone') return withDatabase(this.target, described.database);
        // A dump is compared through a scratch database it is restored into (dropped afterwards).
        const name = await this.restoreScratch(side.snapshot.files[0]!.path, described.compression);
        scratch.push(name);
        return withDatabase(this.target, name);
      };
      return await toSafeRunDiff(this.name, before.label, after.label, await sideTarget(before), await sideTarget(after), opts);
    } finally {
      if (scratch.length) await withAdmin(this.target, async (admin) => { for (const s of scratch) await dropOwned(admin, s); }).catch(() => undefined);
    }
  }

  private async restoreScratch(file: string, compression: DumpCompression): Promise<string> {
    const name = stageName();
    await withAdmin(this.target, async (admin) => {
      await createOwned(admin, name, `CREATE DATABASE ${ident(name)} TEMPLATE template0`);
      await withToolEnv(this.target, safeRunAppName(), (env) =>
        runPgRestore({ file, compression }, ['--exit-on-error', '--no-owner', '--no-acl', '--single-transaction', '--no-password', `--dbname=${name}`], env, { kind: 'usage', stage: 'diff', database: this.location }),
      );
      await markKept(admin, name, 'scratch copy for a diff');
    });
    return name;
  }

  private async existsOn(admin: pg.Client): Promise<boolean> {
    return (await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [this.target.database])).rowCount! > 0;
  }

  private async databaseSize(database: string): Promise<number> {
    return withAdmin(this.target, async (admin) => Number((await admin.query<{ s: string }>('SELECT pg_database_size($1)::text AS s', [database])).rows[0]!.s));
  }

  /**
   * Keep the live database as it is now. By rename (the swap itself renames it aside under a name fixed
   * here, so the safety backup can be recorded before the swap), or, when the dump is restored in place,
   * as a dump of its own taken now.
   */
  private async keepOld(admin: pg.Client, keep: BackupTarget, level: CheckLevel, inPlace: boolean): Promise<KeptDatabase> {
    if (inPlace) {
      const made = await dumpDatabase(this.target, keep.file(DUMP_FILE));
      const facts: DumpFacts = { strategy: 'dump', compression: made.compression, sha256: made.sha256, tables: made.tables, databaseProps: made.databaseProps, serverVersion: made.serverVersion };
      await writePrivateJson(keep.file(DUMP_FACTS), facts);
      const output = { files: [DUMP_FILE, DUMP_FACTS] };
      return { how: 'copy', output, hashes: await hashesOf(keep, output.files), facts: factsOf('dump', made.tables, level, 'ok: dumped before the restore'), verified: true };
    }
    const keptAs = replacedName();
    const conn = await connectPg(this.target, { kind: 'restore', stage: 'safety' });
    let tables: TableCount[];
    try {
      await conn.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
      tables = await countRows(conn);
      await conn.query('COMMIT');
    } finally {
      await conn.end().catch(() => undefined);
    }
    const props = await readDatabaseProps(admin, this.target.database);
    const facts: CloneFacts = { strategy: 'clone', database: keptAs, tables, databaseProps: props };
    await writePrivateJson(keep.file(CLONE_FILE), facts);
    const output = { files: [CLONE_FILE], serverCopy: { name: keptAs } };
    return { how: 'rename', output, hashes: await hashesOf(keep, output.files), facts: factsOf('clone', tables, level, 'ok: the database itself, renamed aside'), verified: true };
  }

  private staged(admin: pg.Client, facts: SnapshotFacts, described: CloneFacts | DumpFacts, prepared: string | undefined, old: KeptDatabase | undefined, mainFile: string): StagedRestore {
    let done = false;
    const discard = async () => {
      if (done) return;
      done = true;
      if (prepared) await dropOwned(admin, prepared).catch(() => undefined);
      await admin.end().catch(() => undefined);
    };
    const swap = async (opts: { waitMs?: number; force?: boolean } = {}) => {
      try {
        if (!prepared) {
          const dump = described as DumpFacts;
          const r = await restoreInPlace(admin, this.target, { file: mainFile, compression: dump.compression, sha256: dump.sha256, tables: dump.tables, databaseProps: dump.databaseProps }, { force: opts.force });
          return { method: 'dump-in-place', heldBy: r.terminated.map(describeSession) };
        }
        if (described.databaseProps) await applyDatabaseProps(admin, prepared, described.databaseProps);
        const keepAs = old?.output.serverCopy?.name;
        const r = await swapInto(admin, this.target.database, prepared, { force: opts.force, location: this.location, comment: described.databaseProps?.comment, keepAs });
        prepared = undefined; // it is the live database now
        if (r.keptAs) await markKept(admin, r.keptAs, `"${this.target.database}" as it was before a restore`);
        return { method: described.strategy === 'clone' ? 'clone-rename' : 'dump-swap', heldBy: r.terminated.map(describeSession) };
      } finally {
        await discard();
      }
    };
    return { facts, old, swap, discard };
  }
}

function describeSession(s: PgSession): string {
  return `pid ${s.pid}${s.applicationName ? ` (${s.applicationName})` : ''}`;
}

function factsOf(strategy: string, tables: TableCount[], level: CheckLevel, result: string, fellBackBecause?: string): SnapshotFacts {
  return {
    strategy: fellBackBecause ? `${strategy} (clone not possible: ${fellBackBecause})` : strategy,
    tables: tables.map((t) => ({ name: t.table, rows: t.rows })),
    check: { level, result },
  };
}

async function readFacts(files: string[]): Promise<CloneFacts | DumpFacts> {
  const json = files.find((f) => f.endsWith(`/${CLONE_FILE}`) || f.endsWith(`/${DUMP_FACTS}`));
  if (!json) throw new EngineError('not-a-database', 'this backup has neither clone.json nor dump.json', { hint: 'it was not taken by the PostgreSQL engine, or it is damaged' });
  try {
    return JSON.parse(await fs.readFile(json, 'utf8')) as CloneFacts | DumpFacts;
  } catch (err) {
    throw new EngineError('check-failed', `cannot read ${json}: ${(err as Error).message}`, { hint: 'the backup is damaged; pick another backup with: safe-run list', cause: err });
  }
}

async function hashesOf(target: BackupTarget, files: string[]): Promise<Array<{ sha256: string; size: number }>> {
  return Promise.all(files.map(async (f) => ({ sha256: await sha256File(target.file(f)), size: (await fs.stat(target.file(f))).size })));
}

