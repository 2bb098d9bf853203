// Put a staged schema's tables in place of the live ones with ONE RENAME TABLE statement (atomic: a kill
// at any point leaves the old tables or the new ones, never a mix), the replaced tables moved into a
// kept schema. Triggers block a cross-schema rename (ERROR 1435): the live ones are dropped just before
// and the backup's created just after, with its views, routines and events.
import { EngineError } from '../engine-errors.js';
import { ident, myFailure, rowsOf, type MyConn } from './connect.js';
import { baseTables, createObjects, dropObjects, readObjects, type SchemaObject } from './objects.js';
import { dropOwned, markKept, tryLockOwned } from './owned-schema.js';

export interface Client {
  id: number;
  user: string;
  host: string;
}

/** Connections other than `c` whose current database is `schema`. */
export async function otherClients(c: MyConn, schema: string): Promise<Client[]> {
  return rowsOf<Client>(c, `SELECT ID AS id, USER AS user, HOST AS host FROM information_schema.PROCESSLIST WHERE DB = ? AND ID <> CONNECTION_ID() AND COMMAND NOT IN ('Daemon', 'Killed') ORDER BY ID`, [schema]);
}

export const describeClient = (s: Client) => `connection ${s.id} (${s.user}@${s.host})`;

const ALL: Array<SchemaObject['kind']> = ['view', 'procedure', 'function', 'trigger', 'event'];

/**
 * Swap `stage`'s tables into `live`, keeping live's tables in the new schema `keep`. `objects`: the
 * backup's views, routines, triggers and events, created in `live` after the rename (live's own are
 * dropped). Connected clients make it refuse (naming them) unless `force`: then their connections are
 * killed. `waitMs` bounds the wait for metadata locks (lock_wait_timeout), so it never hangs for a day.
 */
export async function swapTables(c: MyConn, opts: { live: string; stage: string; keep: string; objects: SchemaObject[]; force?: boolean; waitMs?: number; location: string }): Promise<{ killed: Client[] }> {
  const { live, stage, keep } = opts;
  const ctx = { kind: 'restore' as const, stage: 'swap', database: opts.location };
  const clients = await otherClients(c, live);
  if (clients.length > 0 && !opts.force) {
    throw new EngineError('held-open', `cannot restore "${live}": ${clients.length} other client(s) use it: ${clients.map(describeClient).join('; ')}`, {
      hint: 'stop the application, or restore with --force to disconnect these clients',
      involved: clients.map(describeClient),
    });
  }
  for (const s of clients) await c.query(`KILL CONNECTION ${Number(s.id)}`).catch(() => {});
  const liveTables = (await baseTables(c, live)).map((t) => t.name);
  const stageTables = (await baseTables(c, stage)).map((t) => t.name);
  const liveObjects = await readObjects(c, live);
  await tryLockOwned(c, keep);
  await c.query(`CREATE DATABASE ${ident(keep)} CHARACTER SET utf8mb4 COMMENT 'safe-run: partial: tables replaced by a restore'`);
  await c.query('SET SESSION lock_wait_timeout = ?', [Math.max(1, Math.ceil((opts.waitMs ?? 30_000) / 1000))]);
  const moves = [...liveTables.map((t) => `${ident(live)}.${ident(t)} TO ${ident(keep)}.${ident(t)}`), ...stageTables.map((t) => `${ident(stage)}.${ident(t)} TO ${ident(live)}.${ident(t)}`)];
  try {
    await dropObjects(c, live, liveObjects, ['trigger']);
    await c.query(`RENAME TABLE ${moves.join(', ')}`);
  } catch (err) {
    await createObjects(c, live, liveObjects, ['trigger']).catch(() => {});
    await dropOwned(c, keep).catch(() => {});
    throw myFailure(err, ctx, 'swap failed, the live database is as it was');
  }
  try {
    await dropObjects(c, live, liveObjects, ALL);
    await createObjects(c, live, opts.objects, ALL);
  } catch (err) {
    // Put the tables back as they were, with their objects, rather than leave a half-restored schema.
    const back = [...stageTables.map((t) => `${ident(live)}.${ident(t)} TO ${ident(stage)}.${ident(t)}`), ...liveTables.map((t) => `${ident(keep)}.${ident(t)} TO ${ident(live)}.${ident(t)}`)];
    await dropObjects(c, live, opts.objects, ALL).catch(() => {});
    await c.query(`RENAME TABLE ${back.join(', ')}`).catch(() => {});
    await createObjects(c, live, liveObjects, ALL).catch(() => {});
    await dropOwned(c, keep).catch(() => {});
    throw myFailure(err, ctx, 'the views, routines or triggers of the backup could not be created; the live database is as it was');
  }
  await markKept(c, keep, `"${live}" as it was before a restore at ${new Date().toISOString()}`);
  await dropOwned(c, stage);
  return { killed: clients };
}
