// Random tables of every shape the diff must handle, and random SQL changes to them, for property tests.
import fc from 'fast-check';
import type { TruthIdentity, TruthSide } from './row-truth.js';

/** Every kind of row identity real projects have. */
export const KINDS = ['alias', 'desc', 'serial', 'text', 'withoutRowid', 'composite', 'none', 'rowidColumn', 'allRowidNames'] as const;
export type Kind = (typeof KINDS)[number];
const COLLATIONS = ['BINARY', 'NOCASE', 'RTRIM'] as const;
const TYPES = ['TEXT COLLATE NOCASE', 'TEXT COLLATE RTRIM', 'INTEGER', 'REAL', 'NUMERIC', '', 'BLOB'];
/** SQL literals that collations and numeric comparisons call equal but whose bytes or types differ. */
const VALUES = ['1', '1.0', '2', '2.5', "'1'", "'x'", "'X'", "'x '", 'NULL', "x'00ff'", "'a@Example.com'", "'A@EXAMPLE.COM'", "printf('%.*c', 5000, 'y')", "printf('%.*c', 5000, 'Y')"];
const TEXT_KEYS = ["'a'", "'A'", "'a '", "'b'", "'B'", "'c'", "'d'", "'e'", "'f'", "'1'", 'NULL', "printf('%.*c', 5000, 'k')"];
/** A rebuild changes the table's kind but keeps what identifies its rows. */
const REBUILT: Partial<Record<Kind, Kind>> = { alias: 'desc', desc: 'alias', text: 'withoutRowid', withoutRowid: 'text' };

export interface Column {
  name: string;
  type: string;
}

export interface TableModel {
  name: string;
  kind: Kind;
  coll: (typeof COLLATIONS)[number];
  /** Key columns first, in order; renames change `name`. */
  columns: Column[];
  keyCount: number;
}

export type Op =
  | { op: 'insert'; table: number; seed: number }
  | { op: 'delete'; table: number; at: number }
  | { op: 'update'; table: number; at: number; column: number; value: number }
  | { op: 'rename'; table: number; column: number }
  | { op: 'rebuild'; table: number };

export interface Scenario {
  tables: Array<{ kind: Kind; coll: (typeof COLLATIONS)[number]; types: string[]; bulk: number; rows: number[] }>;
  ops: Op[];
  /** How many of `ops` the guarded run makes; the rest an application makes after it, kept in its -wal. */
  inRun: number;
  heldInWal: boolean;
}

export const scenarios: fc.Arbitrary<Scenario> = fc
  .record({
    tables: fc.array(
      fc.record({
        kind: fc.constantFrom(...KINDS),
        coll: fc.constantFrom(...COLLATIONS),
        types: fc.array(fc.constantFrom(...TYPES), { minLength: 1, maxLength: 3 }),
        bulk: fc.constantFrom(0, 400, 400),
        rows: fc.array(fc.nat(), { maxLength: 12 }),
      }),
      { minLength: 1, maxLength: 3 },
    ),
    ops: fc.array(
      fc.oneof(
        fc.record({ op: fc.constant('insert' as const), table: fc.nat(), seed: fc.nat() }),
        fc.record({ op: fc.constant('delete' as const), table: fc.nat(), at: fc.nat() }),
        fc.record({ op: fc.constant('update' as const), table: fc.nat(), at: fc.nat(), column: fc.nat(), value: fc.nat() }),
        fc.record({ op: fc.constant('update' as const), table: fc.nat(), at: fc.nat(), column: fc.nat(), value: fc.nat() }),
        fc.record({ op: fc.constant('rename' as const), table: fc.nat(), column: fc.nat() }),
        fc.record({ op: fc.constant('rebuild' as const), table: fc.nat() }),
      ),
      { minLength: 1, maxLength: 12 },
    ),
    inRun: fc.nat(),
    heldInWal: fc.boolean(),
  })
  .map((s) => ({ ...s, inRun: s.inRun % (s.ops.length + 1) }));

const q = (name: string) => `"${name.replace(/"/g, '""')}"`;

export function modelsOf(s: Scenario): TableModel[] {
  return s.tables.map((t, i) => {
    const key: Column[] = {
      alias: [{ name: 'id', type: 'INTEGER' }],
      desc: [{ name: 'id', type: 'INTEGER' }],
      serial: [{ name: 'id', type: 'SERIAL' }],
      text: [{ name: 'k', type: 'TEXT' }],
      withoutRowid: [{ name: 'k', type: 'TEXT' }],
      composite: [{ name: 'a', type: 'TEXT' }, { name: 'b', type: 'INTEGER' }],
      none: [],
      rowidColumn: [],
      allRowidNames: [],
    }[t.kind];
    const special = t.kind === 'rowidColumn' ? [{ name: 'rowid', type: 'TEXT' }] : t.kind === 'allRowidNames' ? ['rowid', '_rowid_', 'oid'].map((name) => ({ name, type: '' })) : [];
    const values = t.types.map((type, j) => ({ name: `v${j}`, type }));
    return { name: `t${i}`, kind: t.kind, coll: t.coll, columns: [...key, ...special, ...values], keyCount: key.length };
  });
}

export function createSql(m: TableModel, name = m.name): string {
  const col = (c: Column, i: number) => {
    const keyColl = i < m.keyCount && c.type === 'TEXT' ? ` COLLATE ${m.coll}` : '';
    const pk = m.keyCount === 1 && i === 0 ? { alias: ' PRIMARY KEY', desc: ' PRIMARY KEY DESC' }[m.kind as string] ?? ' PRIMARY KEY' : '';
    return `${q(c.name)} ${c.type}${keyColl}${pk}`;
  };
  const cols = m.columns.map(col);
  if (m.kind === 'composite') cols.push(`PRIMARY KEY (${q(m.columns[0]!.name)}, ${q(m.columns[1]!.name)})`);
  return `CREATE TABLE ${q(name)} (${cols.join(', ')})${m.kind === 'withoutRowid' ? ' WITHOUT ROWID' : ''};`;
}

/** A value for column `i` of `m`, chosen by `n`: keys from small pools so that they collide. */
function valueFor(m: TableModel, i: number, n: number): string {
  if (i >= m.keyCount) return VALUES[n % VALUES.length]!;
  if (m.columns[i]!.type === 'INTEGER') return m.kind === 'alias' ? String(1 + (n % 500)) : n % 9 === 0 ? 'NULL' : String(1 + (n % 500));
  if (m.columns[i]!.type === 'SERIAL') return n % 4 === 0 ? String(n % 50) : 'NULL';
  return TEXT_KEYS[n % TEXT_KEYS.length]!;
}

/** A WHERE clause picking about one row, by rowid, key or (nothing else reaching a row) a value. */
function pick(m: TableModel, at: number): string {
  const t = q(m.name);
  if (m.kind === 'withoutRowid') return `${q(m.columns[0]!.name)} IN (SELECT ${q(m.columns[0]!.name)} FROM ${t} ORDER BY 1 LIMIT 1 OFFSET ${at % 40})`;
  if (m.kind === 'allRowidNames') return `${q(m.columns[3]!.name)} IS (SELECT ${q(m.columns[3]!.name)} FROM ${t} LIMIT 1 OFFSET ${at % 40})`;
  return `_rowid_ = (SELECT _rowid_ FROM ${t} ORDER BY _rowid_ LIMIT 1 OFFSET ${at % 40})`;
}

export function insertSql(m: TableModel, seed: number): string {
  const all = m.columns.map((c, i) => ({ c, v: valueFor(m, i, seed * 7 + i * 13) }));
  const cols = m.kind === 'alias' && seed % 3 === 0 ? all.slice(1) : all; // the rowid chosen by SQLite
  return `INSERT OR IGNORE INTO ${q(m.name)} (${cols.map(({ c }) => q(c.name)).join(', ')}) VALUES (${cols.map(({ v }) => v).join(', ')});`;
}

/** Many rows at once, so that trees have interior pages and the page-level path has work. */
export function bulkSql(m: TableModel, n: number): string {
  const expr = (c: Column, i: number) => {
    if (i < m.keyCount) return c.type === 'TEXT' ? `'k' || i` : c.type === 'SERIAL' ? 'NULL' : 'i';
    return `CASE WHEN i % 7 = 0 THEN NULL ELSE 'v' || i || printf('%.*c', 60, 'p') END`;
  };
  return `INSERT OR IGNORE INTO ${q(m.name)} (${m.columns.map((c) => q(c.name)).join(', ')}) WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < ${n}) SELECT ${m.columns.map(expr).join(', ')} FROM s;`;
}

/** The SQL of one change, applied to the model too (renames, rebuilds). */
export function opSql(models: TableModel[], op: Op, serial: number): string {
  const m = models[op.table % models.length]!;
  const t = q(m.name);
  switch (op.op) {
    case 'insert':
      return insertSql(m, op.seed);
    case 'delete':
      return `DELETE FROM ${t} WHERE ${pick(m, op.at)};`;
    case 'update': {
      const i = op.column % m.columns.length;
      return `UPDATE OR IGNORE ${t} SET ${q(m.columns[i]!.name)} = ${valueFor(m, i, op.value)} WHERE ${pick(m, op.at)};`;
    }
    case 'rename': {
      const c = m.columns[op.column % m.columns.length]!;
      if (['rowid', '_rowid_', 'oid'].includes(c.name)) return '';
      const to = `${c.name.replace(/_r\d+$/, '')}_r${serial}`;
      const sql = `ALTER TABLE ${t} RENAME COLUMN ${q(c.name)} TO ${q(to)};`;
      c.name = to;
      return sql;
    }
    case 'rebuild': {
      m.kind = REBUILT[m.kind] ?? m.kind;
      const cols = m.columns.map((c) => q(c.name)).join(', ');
      return `${createSql(m, `${m.name}_new`)} INSERT OR IGNORE INTO ${q(`${m.name}_new`)} (${cols}) SELECT ${cols} FROM ${t}; DROP TABLE ${t}; ALTER TABLE ${q(`${m.name}_new`)} RENAME TO ${t};`;
    }
  }
}

/** What the ground truth needs to read one side of a table. */
export function truthSide(file: string, m: TableModel): TruthSide {
  const names = m.columns.map((c) => c.name);
  const identity: TruthIdentity =
    m.kind === 'allRowidNames' ? { by: 'whole-row' } : m.keyCount === 0 ? { by: 'rowid' } : { by: 'key', key: names.slice(0, m.keyCount), coll: m.coll };
  const rowid = m.kind === 'withoutRowid' || m.kind === 'allRowidNames' ? undefined : m.kind === 'rowidColumn' ? '_rowid_' : 'rowid';
  return { file, table: m.name, columns: names, identity, rowid };
}
