// Which tables changed between two page sources of one database, and which of their rows can have:
// steps 1-4 of the README's "How the diff decides what to read" (see diff-database.ts).
import { bookkeepingPages, freelistPages, rowidRangeOfLeaf, walkTree, type RowidRange, type TreePages } from './btree.js';
import { changedPagesInParallel } from './changed-pages.js';
import type { DiffEndpoint } from './diff-database.js';
import { FilePageSource, LivePageSource, type PageSource } from './page-source.js';
import type { SchemaEntry } from './schema-diff.js';
import type { Sides } from './table-diff.js';

export interface TablePlan {
  changed: boolean;
  /** Rowid ranges of changed leaves, per side; undefined when the rows must all be compared. */
  candidates?: { before: RowidRange[]; after: RowidRange[] };
}

/** Steps 1-4 of the header comment: which tables changed, and which of their rows can have. */
export async function pageLevelPlan(
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

export type PagePlan = { tables: Map<string, TablePlan>; pageCount: number; changed: number };

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

