// The MariaDB/MySQL engine: the building blocks of this folder behind the Engine interface.
//
// A backup is either a shadow copy on the server (strategy `shadow`: every table copied into a hidden
// schema `safe_run_<backup id>`, described by `shadow.json` with its counts, checksums and the views,
// routines, triggers and events as definitions) or a mariadb-dump file beside `dump.json` with the row
// counts of the dump's own snapshot (strategy `dump`). `auto` makes a shadow copy when every table is
// InnoDB, the database is small (256 MB), no other client is connected and the user may create schemas,
// else a dump. A restore prepares a schema beside the live
// one (a copy of the shadow, or the dump loaded), checks its counts, then one RENAME TABLE swaps it in
// and keeps the replaced tables in a schema `safe_run_old_…`: the safety backup.
import { promises as fs } from 'node:fs';
import type { CheckLevel } from '../../config.js';
import { SafeRunError } from '../../errors.js';
import { writePrivateJson } from '../../files/private-json.js';
import { sha256File } from '../../files/sha256.js';
import type { DatabaseDiff } from '../diff-types.js';
import type { BackupTarget, DiffOptions, DiffSide, Engine, EngineLock, EngineLockOptions, KeptDatabase, ServerCopy, SnapshotFacts, SnapshotOutput, StagedRestore, StoredSnapshot } from '../engine.js';
import { checksumMismatch, CheckFailedError, EngineError } from '../engine-errors.js';
import { connectMy, ident, rowsOf, withServer, type MyConn } from './connect.js';
import { checkScan, dumpDatabase, loadDump } from './dump.js';
import { readEnds, scanDump } from './dump-file.js';
import { removeLeftovers } from './leftovers.js';
import { lockDatabase } from './lock.js';
import { dropObjects, readObjects, type SchemaObject } from './objects.js';
import { dropOwned, markKept, replacedName, schemaExists, shadowName, stageName } from './owned-schema.js';
import { checksumOf, copySchema, countDifferences, countTables, shadowUnsupported } from './shadow.js';
import { describeClient, otherClients, swapTables } from './swap.js';
import { DUMP_FACTS, DUMP_FILE, factsOf, readFacts, SHADOW_FILE, type DumpFacts, type ShadowFacts } from './facts.js';
import { diffSchemas } from './diff.js';
import type { ParsedMyUrl, MyTarget } from './url.js';

const STRATEGIES = new Set(['auto', 'shadow', 'dump']);
/** The largest database `auto` makes a shadow copy of. */
const AUTO_SHADOW_MAX = 256 * 2 ** 20;
const ALL_OBJECTS: Array<SchemaObject['kind']> = ['view', 'procedure', 'function', 'trigger', 'event'];

export class MariaDbEngine implements Engine {
  readonly kind = 'mariadb';
  readonly capabilities = { diff: true, restoreWhileOpen: false, serverSideClone: true, compressFiles: false };
  readonly missing = { what: 'database on the server (it does not exist)', hint: 'check the database name in the URL (mariadb -e "SHOW DATABASES" lists them); safe-run never creates a database' };
  readonly location: string;
  readonly lockKey: string;
  private readonly t: MyTarget;
  private readonly strategy: string;

  constructor(
    readonly name: string,
    parsed: ParsedMyUrl,
    options: Record<string, unknown> = {},
  ) {
    const strategy = options.strategy ?? 'auto';
    if (typeof strategy !== 'string' || !STRATEGIES.has(strategy)) {
      throw new SafeRunError('config', `database "${name}": unknown strategy "${String(strategy)}"`, { stage: 'config', database: name, hint: 'use "auto" (a shadow copy when possible, else a dump), "shadow" or "dump"' });
    }
    this.strategy = strategy;
    this.t = parsed.target;
    this.location = parsed.location;
    this.lockKey = parsed.location;
  }

  async prepareRestore(): Promise<void> {}

  async exists(): Promise<boolean> {
    return withServer(this.t, (c) => schemaExists(c, this.t.database));
  }

  async size(): Promise<number> {
    return withServer(this.t, async (c) => Number((await rowsOf<{ s: string | null }>(c, 'SELECT SUM(DATA_LENGTH + INDEX_LENGTH) AS s FROM information_schema.TABLES WHERE TABLE_SCHEMA = ?', [this.t.database]))[0]?.s ?? 0));
  }

  async lock(opts: EngineLockOptions): Promise<EngineLock> {
    // Held on the server itself, so two machines (or two stores) guarding one database exclude each other.
    // The holder is a connection, not a local process: it is described by its connection id and address.
    return lockDatabase(this.t, {
      waitMs: opts.waitMs,
      onWait: (holder) => opts.onWait?.(holder ? { pid: 0, host: '', startedAt: '', purpose: holder } : undefined),
    });
  }

  async snapshot(target: BackupTarget): Promise<SnapshotOutput> {
    let fellBackBecause: string | undefined;
    if (this.strategy !== 'dump') {
      const c = await connectMy(this.t, { database: null, stage: 'snapshot' });
      const schema = shadowName(target.id);
      try {
        let unsupported = await shadowUnsupported(c, this.t.database);
        // The copy share-locks every row it reads until it commits: writers would wait for it. With
        // other clients connected, auto takes a dump, which never blocks them.
        const clients = this.strategy === 'auto' && !unsupported ? await otherClients(c, this.t.database) : [];
        if (clients.length > 0) unsupported = `${clients.length} other connection(s) use the database, and the copy would make their writes wait`;
        // Measured on 1 GB (bench/mariadb.js): the copy took 7x mariadb-dump, and restoring it was no faster
        // than loading the dump two tables at a time. auto copies only small databases.
        else if (this.strategy === 'auto' && !unsupported && (await schemaSize(c, this.t.database)) > AUTO_SHADOW_MAX) unsupported = `the database is larger than ${AUTO_SHADOW_MAX / 2 ** 20} MB, where a dump is faster`;
        if (unsupported && this.strategy === 'shadow') throw new EngineError('unsupported', `no shadow copy possible: ${unsupported}`, { hint: 'use the dump strategy for this database' });
        if (unsupported) fellBackBecause = unsupported;
        else {
          const copy = await copySchema(c, this.t.database, schema, { note: `backup ${target.id} of ${this.t.database}`, checksums: true });
          await markKept(c, schema, `backup ${target.id} of "${this.t.database}"`);
          const size = await schemaSize(c, schema);
          await writePrivateJson(target.file(SHADOW_FILE), { strategy: 'shadow', schema, tables: copy.tables, objects: copy.objects } satisfies ShadowFacts);
          return { files: [SHADOW_FILE], serverCopy: { name: schema, size } };
        }
      } catch (err) {
        await dropOwned(c, schema).catch(() => undefined);
        const errno = (err as { errno?: number }).errno;
        // Not allowed to create a schema: fall back to a dump, as PostgreSQL does without CREATEDB.
        if (this.strategy !== 'auto' || (errno !== 1044 && errno !== 1142)) throw err;
        fellBackBecause = 'not allowed to create a schema';
      } finally {
        await c.end().catch(() => undefined);
      }
    }
    const scan = await dumpDatabase(this.t, target.file(DUMP_FILE));
    await writePrivateJson(target.file(DUMP_FACTS), { strategy: 'dump', tables: scan.tables, ...(fellBackBecause ? { fellBackBecause } : {}) } satisfies DumpFacts);
    return { files: [DUMP_FILE, DUMP_FACTS] };
  }

  async verify(snapshot: { files: string[]; serverCopy?: ServerCopy }, level: CheckLevel): Promise<SnapshotFacts> {
    const d = await readFacts(snapshot.files);
    if (d.strategy === 'shadow') {
      // quick: row counts; full (and every restore): CHECKSUM TABLE of each table too, a read of every row.
      const checksums = level === 'full';
      await withServer(this.t, async (c) => {
        if (!(await schemaExists(c, d.schema))) throw new EngineError('missing', `the shadow copy ${d.schema} is not on the server`, { hint: 'it was dropped outside safe-run; pick another backup with: safe-run list' });
        const counts = await countTables(c, d.schema);
        for (const t of counts) t.checksum = checksums && d.tables.find((x) => x.table === t.table)?.checksum != null ? await checksumOf(c, d.schema, t.table) : null;
        const differences = countDifferences(counts, d.tables);
        if (differences.length > 0) throw new CheckFailedError(differences.join('; '), 'the shadow copy changed since it was taken; pick another backup');
      }, { stage: 'verify' });
      return factsOf('shadow', d.tables, level, checksums ? 'ok: row counts and checksums match the snapshot' : 'ok: row counts match the snapshot');
    }
    // quick: the header and the completion line (the caller's sha256 vouches for the bytes between);
    // full: every INSERT counted again, then the dump loaded into a scratch schema and counted there.
    checkScan(await readEnds(snapshot.files[0]!));
    if (level === 'full') {
      const differences = countDifferences((await scanDump(snapshot.files[0]!)).tables, d.tables);
      if (differences.length > 0) throw new CheckFailedError(differences.join('; '), 'the dump is not the one that was taken; pick another backup');
      await withServer(this.t, async (c) => {
        const scratch = stageName();
        try {
          await loadDump(this.t, c, snapshot.files[0]!, scratch, d.tables, `scratch load to verify a backup of ${this.t.database}`);
        } finally {
          await dropOwned(c, scratch).catch(() => undefined);
        }
      }, { stage: 'verify' });
      return factsOf('dump', d.tables, level, 'ok: loaded into a scratch schema, row counts match the dump', d.fellBackBecause);
    }
    return factsOf('dump', d.tables, level, 'ok: header and completion line', d.fellBackBecause);
  }

  async stageRestore(snapshot: StoredSnapshot, level: CheckLevel, keepOld?: BackupTarget): Promise<StagedRestore> {
    for (const f of snapshot.files) {
      const actual = await sha256File(f.path);
      if (actual !== f.sha256) throw checksumMismatch(f.sha256, actual);
    }
    const paths = snapshot.files.map((f) => f.path);
    // A dump is checked by loading it (the stage itself is the full check); a shadow copy by its checksums.
    const d = await readFacts(paths);
    const facts = await this.verify({ files: paths, serverCopy: snapshot.serverCopy }, d.strategy === 'shadow' ? 'full' : 'quick');
    const c = await connectMy(this.t, { database: null, kind: 'restore', stage: 'stage' });
    const stage = stageName();
    try {
      let objects: SchemaObject[];
      if (d.strategy === 'shadow') {
        await copySchema(c, d.schema, stage, { note: `restore of ${d.schema} into ${this.t.database}`, checksums: false });
        const differences = countDifferences(await countTables(c, stage), d.tables);
        if (differences.length > 0) throw new CheckFailedError(differences.join('; '), 'the backup did not copy whole; pick another backup');
        objects = d.objects;
      } else {
        await loadDump(this.t, c, paths[0]!, stage, d.tables, `restore into ${this.t.database}`);
        objects = await readObjects(c, stage);
        // Triggers would block the cross-schema rename; the others are created again in the live schema.
        await dropObjects(c, stage, objects, ALL_OBJECTS);
      }
      const old = keepOld && (await schemaExists(c, this.t.database)) ? await this.keepOld(c, keepOld, level) : undefined;
      return this.staged(c, { ...facts, check: { level, result: `${facts.check.result}; staged and counted` } }, stage, objects, old);
    } catch (err) {
      await dropOwned(c, stage).catch(() => undefined);
      await c.end().catch(() => undefined);
      throw err;
    }
  }

  async removeLeftovers(): Promise<string[]> {
    return removeLeftovers(this.t);
  }

  async diff(before: DiffSide, after: DiffSide, opts: DiffOptions = {}): Promise<DatabaseDiff> {
    return withServer(this.t, async (c) => {
      const scratch: string[] = [];
      try {
        const sideOf = async (side: DiffSide): Promise<{ schema: string; objects?: SchemaObject[] }> => {
          if ('live' in side) return { schema: this.t.database };
          const paths = side.snapshot.files.map((f) => f.path);
          const d = await readFacts(paths);
          if (d.strategy === 'shadow') return { schema: d.schema, objects: d.objects };
          // A dump is compared through a scratch schema it is loaded into (dropped afterwards).
          const name = stageName();
          scratch.push(name);
          await loadDump(this.t, c, paths[0]!, name, d.tables, `scratch load for a diff of ${this.t.database}`);
          return { schema: name };
        };
        const [a, b] = [await sideOf(before), await sideOf(after)];
        return await diffSchemas(c, a.schema, b.schema, { name: this.name, before: before.label, after: after.label }, { samples: opts.rows ?? 0, objectsBefore: a.objects, objectsAfter: b.objects });
      } finally {
        for (const s of scratch) await dropOwned(c, s).catch(() => undefined);
      }
    }, { kind: 'usage', stage: 'diff' });
  }

  /** Drop a backup's shadow copy (a backup being pruned). */
  async dropServerCopy(copy: ServerCopy): Promise<void> {
    await withServer(this.t, (c) => c.query(`DROP DATABASE IF EXISTS ${ident(copy.name)}`));
  }

  /** Describe the live tables as they are now; the swap will rename them into a schema named here. */
  private async keepOld(c: MyConn, keep: BackupTarget, level: CheckLevel): Promise<KeptDatabase> {
    const schema = replacedName();
    const tables = await countTables(c, this.t.database);
    const objects = await readObjects(c, this.t.database);
    await writePrivateJson(keep.file(SHADOW_FILE), { strategy: 'shadow', schema, tables, objects } satisfies ShadowFacts);
    const output = { files: [SHADOW_FILE], serverCopy: { name: schema } };
    const hash = { sha256: await sha256File(keep.file(SHADOW_FILE)), size: (await fs.stat(keep.file(SHADOW_FILE))).size };
    return { how: 'rename', output, hashes: [hash], facts: factsOf('shadow', tables, level, 'ok: the tables themselves, renamed aside'), verified: true };
  }

  private staged(c: MyConn, facts: SnapshotFacts, stage: string, objects: SchemaObject[], old: KeptDatabase | undefined): StagedRestore {
    let done = false;
    const discard = async () => {
      if (done) return;
      done = true;
      await dropOwned(c, stage).catch(() => undefined);
      await c.end().catch(() => undefined);
    };
    const swap = async (opts: { waitMs?: number; force?: boolean } = {}) => {
      try {
        if (!(await schemaExists(c, this.t.database))) await c.query(`CREATE DATABASE ${ident(this.t.database)}`);
        const keep = old?.output.serverCopy?.name ?? replacedName();
        const r = await swapTables(c, { live: this.t.database, stage, keep, objects, force: opts.force, waitMs: opts.waitMs, location: this.location });
        return { method: 'rename', heldBy: r.killed.map(describeClient) };
      } finally {
        await discard();
      }
    };
    return { facts, old, swap, discard };
  }
}

async function schemaSize(c: MyConn, schema: string): Promise<number> {
  return Number((await rowsOf<{ s: string | null }>(c, 'SELECT SUM(DATA_LENGTH + INDEX_LENGTH) AS s FROM information_schema.TABLES WHERE TABLE_SCHEMA = ?', [schema]))[0]?.s ?? 0);
}
