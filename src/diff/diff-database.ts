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
import type { SnapshotFacts } from '../engines/engine.js';
import { quoteIdent } from '../engines/sqlite-facts.js';
import { bookkeepingPages, freelistPages, rowidRangeOfLeaf, walkTree, type RowidRange, type TreePages } from './btree.js';
import { changedPagesInParallel } from './changed-pages.js';
import type { DatabaseDiff, TableDiff } from './diff-types.js';
import { FilePageSource, LivePageSource, type PageSource } from './page-source.js';
import { columnsOf, compareSchemas, schemaOf, type SchemaEntry } from './schema-diff.js';
import { diffRows, type Sides, type TableShape } from './table-diff.js';

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
  /** Use the page-level shortcut (default true); false compares every row, for tests and doubts. */
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
    const schema = compareSchemas(db, { schema: s.before, entries: entriesBefore }, { schema: s.after, entries: entriesAfter });
    const uv = (schema: string) => db.pragma(`${schema}.user_version`, { simple: true }) as number;
    const sampleLimit = opts.rows ?? 0;

    const pages = opts.pageLevel === false ? undefined : await pageLevelPlan(s, before, after, entriesBefore, entriesAfter, opened);
    const tables: TableDiff[] = [];
    let skipped = 0;
    const names = new Set([...entriesBefore.values(), ...entriesAfter.values()].filter((e) => e.type === 'table').map((e) => e.name));
    for (const table of [...names].sort()) {
      const a = entriesBefore.get(table);
      const b = entriesAfter.get(table);
      const virtual = /^\s*CREATE\s+VIRTUAL\s/i.test((a ?? b)!.sql ?? '');
      if (!a || a.type !== 'table' || !b || b.type !== 'table') {
        const present = (a?.type === 'table' ? a : b)!;
        const schemaName = present === a ? s.before : s.after;
        const rows = virtual ? null : (db.prepare(`SELECT count(*) FROM ${schemaName}.${quoteIdent(table)}`).pluck().get() as number);
        tables.push({
          name: table,
          status: present === a ? 'dropped' : 'added',
          rowsBefore: present === a ? rows : null,
          rowsAfter: present === a ? null : rows,
          inserted: present === a ? 0 : (rows ?? 0),
          deleted: present === a ? (rows ?? 0) : 0,
          updated: 0,
          method: 'full',
          key: [],
        });
        continue;
      }
      if (virtual) continue; // its content lives in shadow tables, which are compared themselves
      const shape = shapeOf(db, s, table, b);
      const plan = pages?.tables.get(table);
      let counts: Pick<TableDiff, 'inserted' | 'deleted' | 'updated' | 'samples'>;
      let method: TableDiff['method'];
      if (plan && !plan.changed) {
        counts = { inserted: 0, deleted: 0, updated: 0 };
        method = 'skipped';
        skipped++;
      } else if (plan && plan.candidates && !shape.withoutRowid) {
        counts = diffRows(s, shape, plan.candidates, sampleLimit);
        method = 'pages';
      } else {
        counts = diffRows(s, shape, undefined, sampleLimit);
        method = 'full';
      }
      const known = (facts?: SnapshotFacts) => facts?.tables.find((t) => t.name === table)?.rows ?? null;
      let rowsBefore = known(before.facts);
      let rowsAfter = known(after.facts);
      const net = counts.inserted - counts.deleted;
      if (rowsBefore === null && rowsAfter !== null) rowsBefore = rowsAfter - net;
      if (rowsBefore === null) rowsBefore = db.prepare(`SELECT count(*) FROM ${s.before}.${quoteIdent(table)}`).pluck().get() as number;
      if (rowsAfter === null) rowsAfter = rowsBefore + net;
      const changed = counts.inserted + counts.deleted + counts.updated > 0;
      tables.push({ name: table, status: changed ? 'changed' : 'unchanged', rowsBefore, rowsAfter, ...counts, method, key: shape.pk.length ? shape.pk : shape.rowidAlias ? [pkName(db, s, table)] : ['rowid'] });
    }
    db.exec('COMMIT');
    return {
      database: name,
      before: { label: before.label, userVersion: uv(s.before), exists: true },
      after: { label: after.label, userVersion: uv(s.after), exists: true },
      schema,
      tables,
      stats: { pages: pages?.pageCount ?? 0, pagesChanged: pages?.changed ?? 0, tablesSkipped: skipped, ms: Date.now() - started, pageLevel: Boolean(pages) },
    };
  } finally {
    if (db.inTransaction) db.exec('ROLLBACK');
    db.close();
    for (const src of opened) src.close();
  }
}

function pkName(db: Database.Database, s: Sides, table: string): string {
  return columnsOf(db, s.after, table).find((c) => c.pk === 1)?.name ?? 'rowid';
}

function shapeOf(db: Database.Database, s: Sides, table: string, entry: SchemaEntry): TableShape {
  const colsBefore = columnsOf(db, s.before, table);
  const colsAfter = columnsOf(db, s.after, table);
  const columns = colsAfter.filter((c) => colsBefore.some((x) => x.name === c.name)).map((c) => c.name);
  const withoutRowid = /\)\s*WITHOUT\s+ROWID\s*(,|;|$)/i.test(entry.sql ?? '');
  const pkCols = colsAfter.filter((c) => c.pk > 0).sort((x, y) => x.pk - y.pk);
  const rowidAlias = !withoutRowid && pkCols.length === 1 && pkCols[0]!.type.toUpperCase() === 'INTEGER';
  const pk = rowidAlias ? [] : pkCols.map((c) => c.name).filter((c) => columns.includes(c));
  return { name: table, columns, pk: withoutRowid || pk.length === pkCols.length ? pk : [], withoutRowid, rowidAlias };
}

interface TablePlan {
  changed: boolean;
  /** Rowid ranges of changed leaves, per side; undefined when the rows must all be compared. */
  candidates?: { before: RowidRange[]; after: RowidRange[] };
}

/** Steps 1-4 of the header comment: which tables changed, and which of their rows can have. */
async function pageLevelPlan(
  s: Sides,
  before: DiffEndpoint,
  after: DiffEndpoint,
  entriesBefore: Map<string, SchemaEntry>,
  entriesAfter: Map<string, SchemaEntry>,
  opened: PageSource[],
): Promise<PagePlan | undefined> {
  // The page sources stay open until the SQL connection is closed (the caller closes them): closing any
  // descriptor of a file drops every POSIX lock this process holds on it, our read transaction's too.
  const open = (e: DiffEndpoint, withWal: boolean): PageSource => {
    const src = e.live ? new LivePageSource(e.file, withWal ? undefined : null) : new FilePageSource(e.file);
    opened.push(src);
    return src;
  };
  const restarted = (src: PageSource) => src instanceof LivePageSource && src.walRestarted();
  const a = open(before, true);
  const b = open(after, true);
  const plan = await planFrom(s, a, b, entriesBefore, entriesAfter);
  // A -wal restarted meanwhile was wholly in the file when our read began: the file alone is our view.
  if (!restarted(a) && !restarted(b)) return plan;
  return planFrom(s, open(before, false), open(after, false), entriesBefore, entriesAfter);
}

type PagePlan = { tables: Map<string, TablePlan>; pageCount: number; changed: number };

async function planFrom(
  s: Sides,
  a: PageSource,
  b: PageSource,
  entriesBefore: Map<string, SchemaEntry>,
  entriesAfter: Map<string, SchemaEntry>,
): Promise<PagePlan | undefined> {
  if (a.pageSize !== b.pageSize) return undefined;
  const changed = await changedPagesInParallel(a, b);
  const owned = new Set<number>([...freelistPages(a), ...freelistPages(b), ...bookkeepingPages(a), ...bookkeepingPages(b)]);
  const trees = (src: PageSource, entries: Map<string, SchemaEntry>) => {
    const out = new Map<string, TreePages>();
    for (const e of entries.values()) {
      if (e.rootpage > 0) out.set(e.name, walkTree(src, e.rootpage));
    }
    return out;
  };
  let treesA: Map<string, TreePages>;
  let treesB: Map<string, TreePages>;
  try {
    treesA = trees(a, entriesBefore);
    treesB = trees(b, entriesAfter);
  } catch {
    return undefined; // a page we do not understand: compare rows the plain way
  }
  for (const t of [...treesA.values(), ...treesB.values()]) {
    for (const p of t.leaves) owned.add(p);
    for (const p of t.interior) owned.add(p);
  }
  // Changed pages in no tree and not free are overflow pages (long rows). Interior pages do not say
  // whose they are, so SQLite's dbstat walk names their owners (rare: it reads every tree), and those
  // tables are compared in full.
  const unowned = new Set([...changed].filter((p) => !owned.has(p)));
  const overflowOwners = new Set<string>();
  if (unowned.size > 0) {
    for (const schema of [s.before, s.after]) {
      const rows = s.db.prepare(`SELECT name, pageno FROM dbstat(?) WHERE pagetype = 'overflow'`).all(schema) as Array<{ name: string; pageno: number }>;
      for (const r of rows) if (unowned.has(r.pageno)) overflowOwners.add(r.name);
    }
  }
  const plans = new Map<string, TablePlan>();
  for (const [name, ea] of entriesBefore) {
    const eb = entriesAfter.get(name);
    if (ea.type !== 'table' || !eb || eb.type !== 'table' || ea.rootpage === 0) continue;
    const ta = treesA.get(name);
    const tb = treesB.get(name);
    if (!ta || !tb || ea.rootpage !== eb.rootpage) {
      plans.set(name, { changed: true });
      continue;
    }
    const setA = new Set(ta.leaves);
    const setB = new Set(tb.leaves);
    const candA = ta.leaves.filter((p) => changed.has(p) || !setB.has(p));
    const candB = tb.leaves.filter((p) => changed.has(p) || !setA.has(p));
    const interiorChanged = [...ta.interior, ...tb.interior].some((p) => changed.has(p));
    const overflowChanged = overflowOwners.has(name);
    const isChanged = candA.length > 0 || candB.length > 0 || interiorChanged || overflowChanged;
    if (!isChanged) {
      plans.set(name, { changed: false });
      continue;
    }
    if (overflowChanged) {
      plans.set(name, { changed: true });
      continue;
    }
    const buf = Buffer.alloc(a.pageSize);
    try {
      plans.set(name, {
        changed: true,
        candidates: {
          before: ranges(a, candA, buf),
          after: ranges(b, candB, buf),
        },
      });
    } catch {
      plans.set(name, { changed: true }); // an index-shaped (WITHOUT ROWID) tree: compare in full
    }
  }
  return { tables: plans, pageCount: Math.max(a.pageCount, b.pageCount), changed: changed.size };
}

function ranges(src: PageSource, leaves: number[], buf: Buffer): RowidRange[] {
  const out: RowidRange[] = [];
  for (const p of leaves) {
    const r = rowidRangeOfLeaf(src, p, buf);
    if (r) out.push(r);
  }
  return out;
}

/** One side does not exist (a database deleted by the script, or restored where none was). */
function oneSided(name: string, before: DiffEndpoint, after: DiffEndpoint, beforeExists: boolean, started: number): DatabaseDiff {
  const side = beforeExists ? before : after;
  const db = new Database(side.file, { readonly: true, fileMustExist: true });
  try {
    const entries = schemaOf(db, 'main');
    const tables: TableDiff[] = [...entries.values()]
      .filter((e) => e.type === 'table' && !/^\s*CREATE\s+VIRTUAL\s/i.test(e.sql ?? ''))
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
