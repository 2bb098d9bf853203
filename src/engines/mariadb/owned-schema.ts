// Schemas safe-run creates on the server (shadow copies, staged restores, scratch loads, the replaced
// tables): recognisable names, a comment saying whether they are partial or kept, and an owner lock held
// by the creating connection so that a sweep never drops one that is still being built.
import { randomBytes } from 'node:crypto';
import { ident, literal, rowsOf, type MyConn } from './connect.js';
import { lockName, tryLock } from './lock.js';

export const SCHEMA_PREFIX = 'safe_run_';
export const PARTIAL_MARK = 'safe-run: partial';
export const KEPT_MARK = 'safe-run: kept';

/** The shadow schema that is backup `backupId` (64 characters at most). */
export function shadowName(backupId: string): string {
  return `${SCHEMA_PREFIX}${backupId.toLowerCase().replace(/[^a-z0-9_]/g, '_')}`.slice(0, 64);
}

/** A fresh name for a short-lived schema: a staged restore or a scratch load. */
export function stageName(): string {
  return `${SCHEMA_PREFIX}stage_${randomBytes(6).toString('hex')}`;
}

/** A fresh name under which a restore keeps the tables it replaced. Never swept. */
export function replacedName(): string {
  return `${SCHEMA_PREFIX}old_${new Date().toISOString().replace(/\D/g, '').slice(0, 14)}_${randomBytes(3).toString('hex')}`;
}

export const ownerLock = (schema: string) => lockName('own', schema);

/** Create `schema` as partial and owned by `c`'s connection (the lock is taken before it exists). */
export async function createOwned(c: MyConn, schema: string, note: string): Promise<void> {
  await tryLock(c, ownerLock(schema));
  await c.query(`CREATE DATABASE ${ident(schema)} CHARACTER SET utf8mb4 COMMENT ${literal(`${PARTIAL_MARK}: ${note}`.slice(0, 1024))}`);
}

/** Mark an owned schema as kept (a backup, replaced tables) and let go of its owner lock. */
export async function markKept(c: MyConn, schema: string, note: string): Promise<void> {
  await c.query(`ALTER DATABASE ${ident(schema)} COMMENT ${literal(`${KEPT_MARK}: ${note}`.slice(0, 1024))}`);
  await c.query('DO RELEASE_LOCK(?)', [ownerLock(schema)]);
}

/** Drop an owned schema and let go of its owner lock. Safe when it is gone. */
export async function dropOwned(c: MyConn, schema: string): Promise<void> {
  await c.query(`DROP DATABASE IF EXISTS ${ident(schema)}`);
  await c.query('DO RELEASE_LOCK(?)', [ownerLock(schema)]).catch(() => {});
}

/** Whether `schema` exists. */
export async function schemaExists(c: MyConn, schema: string): Promise<boolean> {
  return (await rowsOf(c, 'SELECT 1 FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?', [schema])).length > 0;
}

/** Take the owner lock of `schema` on `c` (true when taken). */
export async function tryLockOwned(c: MyConn, schema: string): Promise<boolean> {
  return tryLock(c, ownerLock(schema));
}
