// Databases safe-run creates beside the live one (clones, staged restores, scratch copies, the replaced
// database): recognisable names, and an owner mark so that a sweep can tell an abandoned one from one
// that another safe-run is still building.
import { randomBytes } from 'node:crypto';
import type pg from 'pg';
import { advisoryKey, tryAdvisoryLock } from './advisory-lock.js';
import { ident, literal, safeRunAppName } from './connect.js';

/** Every database safe-run creates starts with this. */
export const SNAPSHOT_PREFIX = 'safe_run_';

/** Comments safe-run puts on its databases: in progress (sweepable once the owner is gone) or kept. */
export const PARTIAL_MARK = 'safe-run: partial';
export const KEPT_MARK = 'safe-run: kept';

/** The name of a clone that is backup `backupId`. */
export function cloneName(backupId: string): string {
  return `${SNAPSHOT_PREFIX}${sanitize(backupId)}`.slice(0, 63);
}

/** A fresh name for a short-lived database: a staged restore or a scratch copy to verify a dump. */
export function stageName(): string {
  return `${SNAPSHOT_PREFIX}stage_${randomBytes(6).toString('hex')}`;
}

/** A fresh name under which a restore keeps the database it replaced. Never swept. */
export function replacedName(): string {
  return `${SNAPSHOT_PREFIX}old_${new Date().toISOString().replace(/\D/g, '').slice(0, 14)}_${randomBytes(3).toString('hex')}`;
}

/** The advisory key whose holder owns database `name` while it is being built. */
export function ownerKey(name: string): string {
  return advisoryKey('safe-run-owned-db', name);
}

/**
 * Create database `name` with `createSql` (a CREATE DATABASE statement) as an owned, partial database:
 * the owner key is locked on `admin`'s session before the CREATE (so a sweep on another session never
 * drops it, even before the comment exists), then the comment marks it partial. The key stays held until
 * `markKept` or `dropOwned`, or until `admin`'s session ends.
 */
export async function createOwned(admin: pg.Client, name: string, createSql: string): Promise<void> {
  await tryAdvisoryLock(admin, ownerKey(name));
  await admin.query(createSql);
  await admin.query(`COMMENT ON DATABASE ${ident(name)} IS ${literal(`${PARTIAL_MARK} (${safeRunAppName()})`)}`);
}

/** Mark an owned database as kept (a backup, a replaced database) and release its owner key. */
export async function markKept(admin: pg.Client, name: string, note: string): Promise<void> {
  await admin.query(`COMMENT ON DATABASE ${ident(name)} IS ${literal(`${KEPT_MARK}: ${note}`)}`);
  await admin.query('SELECT pg_advisory_unlock($1::bigint)', [ownerKey(name)]);
}

/** Drop an owned database (terminating any session on it) and release its owner key. Safe if it is gone. */
export async function dropOwned(admin: pg.Client, name: string): Promise<void> {
  await admin.query(`DROP DATABASE IF EXISTS ${ident(name)} WITH (FORCE)`);
  await admin.query('SELECT pg_advisory_unlock($1::bigint)', [ownerKey(name)]).catch(() => {});
}

/** Remove safe-run's comment from a database (one renamed into the live name). */
export async function clearMark(admin: pg.Client, name: string): Promise<void> {
  await admin.query(`COMMENT ON DATABASE ${ident(name)} IS NULL`);
}

function sanitize(id: string): string {
  return id.toLowerCase().replace(/[^a-z0-9_]/g, '_');
}
