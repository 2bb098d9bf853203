// The things around the tables that a table rename does not carry as they were: views, triggers, stored
// routines and events. Read as CREATE statements without schema qualifiers (SHOW CREATE with the schema
// as current database) and without DEFINER (recreated as the connecting user), so they can be created
// again in another schema.
import { ident, rowsOf, type MyConn } from './connect.js';

export interface SchemaObject {
  kind: 'view' | 'trigger' | 'procedure' | 'function' | 'event';
  name: string;
  sql: string;
  sqlMode?: string;
}

/** Base tables of `schema` with their engines, in name order. */
export async function baseTables(c: MyConn, schema: string): Promise<Array<{ name: string; engine: string | null; sequence: boolean }>> {
  const r = await rowsOf<{ n: string; e: string | null; t: string }>(
    c,
    `SELECT TABLE_NAME AS n, ENGINE AS e, TABLE_TYPE AS t FROM information_schema.TABLES WHERE TABLE_SCHEMA = ? AND TABLE_TYPE IN ('BASE TABLE', 'SEQUENCE') ORDER BY 1`,
    [schema],
  );
  return r.map((x) => ({ name: x.n, engine: x.e, sequence: x.t === 'SEQUENCE' }));
}

const stripDefiner = (sql: string) => sql.replace(/\bDEFINER\s*=\s*(`[^`]*`|'[^']*'|\S+)@(`[^`]*`|'[^']*'|\S+)\s*/i, '');

/** Every view, trigger, routine and event of `schema`. Leaves `c` on `schema` as current database. */
export async function readObjects(c: MyConn, schema: string): Promise<SchemaObject[]> {
  await c.query(`USE ${ident(schema)}`);
  const out: SchemaObject[] = [];
  for (const { n } of await rowsOf<{ n: string }>(c, `SELECT TABLE_NAME AS n FROM information_schema.VIEWS WHERE TABLE_SCHEMA = ? ORDER BY 1`, [schema])) {
    const [r] = await rowsOf<Record<string, string>>(c, `SHOW CREATE VIEW ${ident(n)}`);
    out.push({ kind: 'view', name: n, sql: stripDefiner(r!['Create View']!) });
  }
  for (const { n, t } of await rowsOf<{ n: string; t: string }>(c, `SELECT ROUTINE_NAME AS n, ROUTINE_TYPE AS t FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA = ? ORDER BY 1`, [schema])) {
    const kind = t === 'FUNCTION' ? 'function' : 'procedure';
    const [r] = await rowsOf<Record<string, string>>(c, `SHOW CREATE ${kind.toUpperCase()} ${ident(n)}`);
    out.push({ kind, name: n, sql: stripDefiner(r![kind === 'function' ? 'Create Function' : 'Create Procedure']!), sqlMode: r!['sql_mode'] });
  }
  for (const { n } of await rowsOf<{ n: string }>(c, `SELECT TRIGGER_NAME AS n FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = ? ORDER BY ACTION_ORDER, 1`, [schema])) {
    const [r] = await rowsOf<Record<string, string>>(c, `SHOW CREATE TRIGGER ${ident(n)}`);
    out.push({ kind: 'trigger', name: n, sql: stripDefiner(r!['SQL Original Statement']!), sqlMode: r!['sql_mode'] });
  }
  for (const { n } of await rowsOf<{ n: string }>(c, `SELECT EVENT_NAME AS n FROM information_schema.EVENTS WHERE EVENT_SCHEMA = ? ORDER BY 1`, [schema])) {
    const [r] = await rowsOf<Record<string, string>>(c, `SHOW CREATE EVENT ${ident(n)}`);
    out.push({ kind: 'event', name: n, sql: stripDefiner(r!['Create Event']!), sqlMode: r!['sql_mode'] });
  }
  return out;
}

/** Drop the given objects of `schema` (kinds in `kinds`); missing ones are ignored. */
export async function dropObjects(c: MyConn, schema: string, objects: SchemaObject[], kinds: Array<SchemaObject['kind']>): Promise<void> {
  for (const o of objects) {
    if (!kinds.includes(o.kind)) continue;
    await c.query(`DROP ${o.kind.toUpperCase()} IF EXISTS ${ident(schema)}.${ident(o.name)}`);
  }
}

/**
 * Create `objects` in `schema` (current database for the statements). Views that depend on views not
 * made yet are retried until no progress is made; the first error left is thrown.
 */
export async function createObjects(c: MyConn, schema: string, objects: SchemaObject[], kinds: Array<SchemaObject['kind']>): Promise<void> {
  await c.query(`USE ${ident(schema)}`);
  const m = (await rowsOf<{ m: string }>(c, 'SELECT @@SESSION.sql_mode AS m'))[0]!.m;
  let pending = objects.filter((o) => kinds.includes(o.kind));
  try {
    while (pending.length > 0) {
      const failed: Array<{ o: SchemaObject; err: unknown }> = [];
      for (const o of pending) {
        try {
          if (o.sqlMode !== undefined) await c.query('SET SESSION sql_mode = ?', [o.sqlMode]);
          await c.query(o.sql);
        } catch (err) {
          failed.push({ o, err });
        }
      }
      if (failed.length === pending.length) throw failed[0]!.err;
      pending = failed.map((f) => f.o);
    }
  } finally {
    await c.query('SET SESSION sql_mode = ?', [m]);
  }
}
