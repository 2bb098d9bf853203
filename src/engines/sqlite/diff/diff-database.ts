// Compare two states of one SQLite database: schema, then rows, reading only what changed.
//
// How it decides (also in the README): a safe-run backup is a page-for-page copy of its database, so
// both sides share page numbers. 1. Compare the two files page by page (the live side is its file with
// the committed frames of its -wal laid over it, as SQLite sees it). 2. Walk every b-tree's interior
// pages on both sides (about 1 % of the file) to learn which table owns which page. 3. A table none of
// whose pages changed, in the same tree on both sides, has the same rows: skip it. 4. For a changed
// table, only the rows stored on its changed leaf pages can differ: read those rowids from the pages,
// fetch those rows on both sides, and match them by primary key (or rowid). 5. Where this shortcut does
// not hold (WITHOUT ROWID tables, a table rebuilt under a new root page, changed overflow pages, a
// different page size) the table's rows are all compared with SQL joins on the key, like sqldiff.
import Database from 'better-sqlite3';
import { existsSync } from 'node:fs';
import type { SnapshotFacts } from '../../engine.js';
import { quoteIdent } from '../../sqlite-facts.js';
import type { DatabaseDiff, TableDiff } from '../../diff-types.js';
import { pageLevelPlan, type PagePlan, type TablePlan } from './page-plan.js';
import type { PageSource } from './page-source.js';
import { compareSchemas, schemaOf, shadowTables, withSequence, type SchemaEntry } from './schema-diff.js';
import { diffRows, type Sides } from './table-diff.js';
import { tableShape } from './table-shape.js';
import { diffWholeRows } from './whole-row-diff.js';

export interface DiffEndpoint {
  /** The database file: a backup, or the live database. */
  file: string;
  /** A live database: read with its -wal, inside a read transaction. */
  live: boolean;
  label: string;
  /** Row counts known without counting (a backup's manifest). */
  facts?: SnapshotFacts;
}

export interface DiffOptions {
  /** Changed rows to keep per table (0: counts only). */
  rows?: number;
  /**
   * Use the page-level shortcut (default true); false compares every row, for tests and doubts. The
   * environment variable SAFE_RUN_DIFF_PLAIN=1 sets false for a whole process (tests of the CLI).
   */
  pageLevel?: boolean;
}

export async function diffDatabase(name: string, before: DiffEndpoint, after: DiffEndpoint, opts: DiffOptions = {}): Promise<DatabaseDiff> {
  const started = Date.now();
  const beforeExists = existsSync(before.file);
  const afterExists = existsSync(after.file);
  if (!beforeExists && !afterExists) throw new Error(`neither ${before.label} nor ${after.label} exists`);
  if (!beforeExists || !afterExists) return oneSided(name, before, after, beforeExists, started);

  // The live side (if any) is the main database; the other is attached. Nothing is written, but a live
  // database is not opened read-only: a read-only connection leaves its -wal and -shm behind when it
  // is the last to close, an ordinary one tidies them up as every SQLite application does.
  const mainSide = after.live || !before.live ? after : before;
  const db = new Database(mainSide.file, { readonly: !mainSide.live, fileMustExist: true, timeout: 10_000 });
  const opened: PageSource[] = [];
  try {
    db.prepare(`ATTACH DATABASE ? AS other`).run(mainSide === after ? before.file : after.file);
    const s: Sides = { db, before: mainSide === before ? 'main' : 'other', after: mainSide === after ? 'main' : 'other' };
    db.exec('BEGIN');
    // Read both schemas now: this takes the read locks that pin the snapshot for the whole diff.
    const entriesBefore = schemaOf(db, s.before);
    const entriesAfter = schemaOf(db, s.after);
    // A virtual table's shadow tables are its storage: compared (and reported) as the virtual table.
    const shadows = new Set([...shadowTables(entriesBefore), ...shadowTables(entriesAfter)]);
    const visible = (m: Map<string, SchemaEntry>) => new Map([...m].filter(([n]) => !shadows.has(n)));
    const schema = compareSchemas(db, { schema: s.before, entries: visible(entriesBefore) }, { schema: s.after, entries: visible(entriesAfter) });
    const tablesBefore = withSequence(db, s.before, entriesBefore);
    const tablesAfter = withSequence(db, s.after, entriesAfter);
    const uv = (schema: string) => db.pragma(`${schema}.user_version`, { simple: true }) as number;
    const pageLevel = opts.pageLevel ?? process.env.SAFE_RUN_DIFF_PLAIN !== '1';
    const pages = pageLevel ? await pageLevelPlan(s, before, after, tablesBefore, tablesAfter, opened) : undefined;
    const tables: TableDiff[] = [];
    const names = new Set([...tablesBefore.values(), ...tablesAfter.values()].filter((e) => e.type === 'table' && !shadows.has(e.name)).map((e) => e.name));
    for (const table of [...names].sort()) {
      const a = tablesBefore.get(table);
      const b = tablesAfter.get(table);
      try {
        tables.push(compareTable(s, table, a, b, planOf(pages, table, b, tablesAfter), { before, after, rows: opts.rows ?? 0 }));
      } catch (err) {
        // One table that cannot be compared must not lose the others.
        const reason = (err as Error).message.split('\n')[0];
        tables.push({ name: table, status: 'incomparable', reason, rowsBefore: null, rowsAfter: null, inserted: 0, deleted: 0, updated: 0, method: 'full', key: [] });
      }
    }
    db.exec('COMMIT');
    return {
      database: name,
      before: { label: before.label, userVersion: uv(s.before), exists: true },
      after: { label: after.label, userVersion: uv(s.after), exists: true },
      schema,
      tables,
      stats: { pages: pages?.pageCount ?? 0, pagesChanged: pages?.changed ?? 0, tablesSkipped: tables.filter((t) => t.method === 'skipped').length, ms: Date.now() - started, pageLevel: Boolean(pages) },
    };
  } finally {
    if (db.inTransaction) db.exec('ROLLBACK');
    db.close();
    for (const src of opened) src.close();
  }
}

const isVirtual = (e: SchemaEntry) => /^\s*CREATE\s+VIRTUAL\s/i.test(e.sql ?? '');

/** A virtual table has no pages of its own: it changed when one of its shadow tables did. */
function planOf(pages: PagePlan | undefined, table: string, entry: SchemaEntry | undefined, entries: Map<string, SchemaEntry>): TablePlan | undefined {
  if (!pages || !entry || !isVirtual(entry)) return pages?.tables.get(table);
  const own = [...shadowTables(entries)].filter((n) => n.startsWith(`${table}_`)).map((n) => pages.tables.get(n));
  return own.length > 0 && own.every((p) => p && !p.changed) ? { changed: false } : { changed: true };
}

function compareTable(
  s: Sides,
  table: string,
  a: SchemaEntry | undefined,
  b: SchemaEntry | undefined,
  plan: TablePlan | undefined,
  o: { before: DiffEndpoint; after: DiffEndpoint; rows: number },
): TableDiff {
  const countIn = (schema: string) => s.db.prepare(`SELECT count(*) FROM ${schema}.${quoteIdent(table)}`).pluck().get() as number;
  if (!a || a.type !== 'table' || !b || b.type !== 'table') {
    const dropped = a?.type === 'table';
    const rows = countIn(dropped ? s.before : s.after);
    return dropped
      ? { name: table, status: 'dropped', rowsBefore: rows, rowsAfter: null, inserted: 0, deleted: rows, updated: 0, method: 'full', key: [] }
      : { name: table, status: 'added', rowsBefore: null, rowsAfter: rows, inserted: rows, deleted: 0, updated: 0, method: 'full', key: [] };
  }
  const shape = tableShape(s.db, s, table);
  const id = shape.identity;
  let counts: Pick<TableDiff, 'inserted' | 'deleted' | 'updated' | 'samples'>;
  let method: TableDiff['method'];
  if (plan && !plan.changed && (shape.sameRecords || isVirtual(a))) {
    counts = { inserted: 0, deleted: 0, updated: 0 };
    method = 'skipped';
  } else if (id.by === 'whole-row') {
    counts = diffWholeRows(s, shape);
    method = 'full';
  } else if (plan?.candidates && shape.pageLevel) {
    counts = diffRows(s, shape, plan.candidates, o.rows);
    method = 'pages';
  } else {
    counts = diffRows(s, shape, undefined, o.rows);
    method = 'full';
  }
  const known = (facts?: SnapshotFacts) => facts?.tables.find((t) => t.name === table)?.rows ?? null;
  let rowsBefore = known(o.before.facts);
  let rowsAfter = known(o.after.facts);
  const net = counts.inserted - counts.deleted;
  if (rowsBefore === null && rowsAfter !== null) rowsBefore = rowsAfter - net;
  if (rowsBefore === null) rowsBefore = countIn(s.before);
  if (rowsAfter === null) rowsAfter = rowsBefore + net;
  const changed = counts.inserted + counts.deleted + counts.updated > 0;
  const key = id.by === 'key' ? id.key.map((k) => k.after) : id.by === 'rowid' ? ['rowid'] : [];
  const reason = id.by === 'whole-row' ? { reason: id.why } : {};
  return { name: table, status: changed ? 'changed' : 'unchanged', ...reason, rowsBefore, rowsAfter, ...counts, method, key };
}

/** One side does not exist (a database deleted by the script, or restored where none was). */
function oneSided(name: string, before: DiffEndpoint, after: DiffEndpoint, beforeExists: boolean, started: number): DatabaseDiff {
  const side = beforeExists ? before : after;
  const db = new Database(side.file, { readonly: true, fileMustExist: true });
  try {
    const entries = schemaOf(db, 'main');
    const tables: TableDiff[] = [...entries.values()]
      .filter((e) => e.type === 'table' && !isVirtual(e) && !shadowTables(entries).has(e.name))
      .map((e) => {
        const rows = db.prepare(`SELECT count(*) FROM ${quoteIdent(e.name)}`).pluck().get() as number;
        return beforeExists
          ? { name: e.name, status: 'dropped' as const, rowsBefore: rows, rowsAfter: null, inserted: 0, deleted: rows, updated: 0, method: 'full' as const, key: [] }
          : { name: e.name, status: 'added' as const, rowsBefore: null, rowsAfter: rows, inserted: rows, deleted: 0, updated: 0, method: 'full' as const, key: [] };
      });
    const uv = db.pragma('user_version', { simple: true }) as number;
    return {
      database: name,
      before: { label: before.label, userVersion: beforeExists ? uv : null, exists: beforeExists },
      after: { label: after.label, userVersion: beforeExists ? null : uv, exists: !beforeExists },
      schema: [...entries.values()].map((e) => ({ kind: e.type as 'table', name: e.name, change: beforeExists ? ('dropped' as const) : ('added' as const) })),
      tables,
      stats: { pages: 0, pagesChanged: 0, tablesSkipped: 0, ms: Date.now() - started, pageLevel: false },
    };
  } finally {
    db.close();
  }
}
