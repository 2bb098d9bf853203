// The shadow strategy: every table copied into a hidden schema on the same server in one transaction,
// so that a rollback is one RENAME TABLE across schemas. Also used to stage a restore from a shadow copy.
//
// Measured on MariaDB 10.11: INSERT … SELECT under REPEATABLE READ is a locking read (shared locks on
// the source rows, read at their latest committed version), not a read of the transaction's snapshot.
// The copy is consistent all the same, by two-phase locking: every row copied stays share-locked until
// the copy commits, so a writer's transaction is either wholly before the copy or waits until it ends.
// Writers touching copied rows wait for the copy; a deadlock with one is retried.
import { ident, rowsOf, type MyConn } from './connect.js';
import { baseTables, readObjects, type SchemaObject } from './objects.js';
import { createOwned } from './owned-schema.js';

export interface TableCount {
  table: string;
  rows: number;
  /** CHECKSUM TABLE of the copy right after it was made (shadow copies only). */
  checksum?: string | null;
}

export interface ShadowCopy {
  schema: string;
  tables: TableCount[];
  objects: SchemaObject[];
}

/** Why `schema` cannot be copied consistently by this strategy, or undefined when it can. */
export async function shadowUnsupported(c: MyConn, schema: string): Promise<string | undefined> {
  const tables = await baseTables(c, schema);
  const seq = tables.find((t) => t.sequence);
  if (seq) return `sequence ${seq.name} cannot be copied by INSERT … SELECT`;
  const other = tables.find((t) => t.engine !== null && t.engine.toUpperCase() !== 'INNODB');
  if (other) return `table ${other.name} uses ${other.engine}, which has no transactions`;
  return undefined;
}

/** Columns an INSERT can write (generated columns are left out: the copy computes them). */
async function writableColumns(c: MyConn, schema: string, table: string): Promise<string> {
  const cols = await rowsOf<{ n: string }>(
    c,
    `SELECT COLUMN_NAME AS n FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? AND EXTRA NOT LIKE '%GENERATED%' ORDER BY ORDINAL_POSITION`,
    [schema, table],
  );
  return cols.map((x) => ident(x.n)).join(', ');
}

/**
 * Copy every table of `from` into a new schema `to`, created owned and partial on `c` (the caller marks
 * it kept or drops it). Tables are made from SHOW CREATE TABLE (keys, foreign keys, AUTO_INCREMENT),
 * rows copied in one transaction and the source counted in it; with `checksums`, CHECKSUM TABLE of the
 * copy is recorded. The copy's counts are the caller's to check.
 * Views, triggers, routines and events are read as definitions, not copied (events would run).
 */
export async function copySchema(c: MyConn, from: string, to: string, opts: { note: string; checksums: boolean }): Promise<ShadowCopy> {
  const tables = (await baseTables(c, from)).filter((t) => !t.sequence);
  const objects = await readObjects(c, from);
  await createOwned(c, to, opts.note);
  await c.query('SET SESSION foreign_key_checks = 0, unique_checks = 0');
  try {
    for (const t of tables) {
      await c.query(`USE ${ident(from)}`);
      const [r] = await rowsOf<Record<string, string>>(c, `SHOW CREATE TABLE ${ident(t.name)}`);
      await c.query(`USE ${ident(to)}`);
      await c.query(r!['Create Table']!);
    }
    const counts = await copyRows(c, from, to, tables.map((t) => t.name));
    // The copy's own counts are checked by the caller (verify, or the staged restore's check).
    if (opts.checksums) for (const t of counts) t.checksum = await checksumOf(c, to, t.table);
    return { schema: to, tables: counts, objects };
  } finally {
    await c.query('SET SESSION foreign_key_checks = 1, unique_checks = 1').catch(() => {});
  }
}

async function copyRows(c: MyConn, from: string, to: string, tables: string[]): Promise<TableCount[]> {
  for (let attempt = 1; ; attempt++) {
    const counts: TableCount[] = [];
    await c.query('SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ');
    await c.query('START TRANSACTION WITH CONSISTENT SNAPSHOT');
    try {
      for (const t of tables) {
        const cols = await writableColumns(c, from, t);
        await c.query(`INSERT INTO ${ident(to)}.${ident(t)} (${cols}) SELECT ${cols} FROM ${ident(from)}.${ident(t)}`);
        // The rows just copied are share-locked: this count is of the same state.
        const [r] = await rowsOf<{ n: string }>(c, `SELECT COUNT(*) AS n FROM ${ident(from)}.${ident(t)} LOCK IN SHARE MODE`);
        counts.push({ table: t, rows: Number(r!.n) });
      }
      await c.query('COMMIT');
      return counts;
    } catch (err) {
      await c.query('ROLLBACK').catch(() => {});
      const errno = (err as { errno?: number }).errno;
      if ((errno !== 1213 && errno !== 1205) || attempt >= 5) throw err;
      for (const t of tables) await c.query(`DELETE FROM ${ident(to)}.${ident(t)}`);
    }
  }
}

/** CHECKSUM TABLE of one table, as text (null when the engine cannot say). */
export async function checksumOf(c: MyConn, schema: string, table: string): Promise<string | null> {
  const [r] = await rowsOf<{ Checksum: string | null }>(c, `CHECKSUM TABLE ${ident(schema)}.${ident(table)} EXTENDED`);
  return r?.Checksum === null || r?.Checksum === undefined ? null : String(r.Checksum);
}

/** Row counts of every base table of `schema` (exact counts). */
export async function countTables(c: MyConn, schema: string): Promise<TableCount[]> {
  const out: TableCount[] = [];
  for (const t of await baseTables(c, schema)) {
    if (t.sequence) continue;
    const [r] = await rowsOf<{ n: string }>(c, `SELECT COUNT(*) AS n FROM ${ident(schema)}.${ident(t.name)}`);
    out.push({ table: t.name, rows: Number(r!.n) });
  }
  return out;
}

/** Differences between two sets of counts, one phrase each (empty when they agree). */
export function countDifferences(actual: TableCount[], expected: TableCount[]): string[] {
  const diffs: string[] = [];
  const have = new Map(actual.map((t) => [t.table, t]));
  for (const e of expected) {
    const a = have.get(e.table);
    if (!a) diffs.push(`table ${e.table} is missing`);
    else if (a.rows !== e.rows) diffs.push(`table ${e.table} has ${a.rows} rows, ${e.rows} expected`);
    else if (e.checksum != null && a.checksum != null && a.checksum !== e.checksum) diffs.push(`table ${e.table}: checksum ${a.checksum}, ${e.checksum} expected`);
  }
  for (const a of actual) if (!expected.some((e) => e.table === a.table)) diffs.push(`unexpected table ${a.table}`);
  return diffs;
}
