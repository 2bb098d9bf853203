// What belongs to the database itself rather than to anything inside it: owner, comment, grants (CONNECT,
// CREATE, TEMPORARY) and ALTER DATABASE … SET settings. CREATE DATABASE … TEMPLATE copies none of them and
// pg_restore without --create applies none of them, so a backup records them and a restore puts them back.
import type pg from 'pg';
import { ident, literal } from './connect.js';

/** The database-level properties of one database, as recorded with a backup. */
export interface DatabaseProps {
  owner: string;
  /** The user's comment; safe-run's own marks are never recorded. */
  comment: string | null;
  /** pg_database.datacl as text ("{=Tc/app,app=CTc/app}"), or null for the default grants. */
  acl: string | null;
  /** ALTER DATABASE … SET entries for all roles ("work_mem=7MB"). */
  settings: string[];
}

/** Read `database`'s properties (undefined when it does not exist). */
export async function readDatabaseProps(client: pg.Client, database: string): Promise<DatabaseProps | undefined> {
  const r = await client.query<{ owner: string; comment: string | null; acl: string | null; settings: string[] | null }>(
    `SELECT pg_get_userbyid(d.datdba) AS owner, shobj_description(d.oid, 'pg_database') AS comment, d.datacl::text AS acl,
            (SELECT s.setconfig FROM pg_db_role_setting s WHERE s.setdatabase = d.oid AND s.setrole = 0) AS settings
       FROM pg_database d WHERE d.datname = $1`,
    [database],
  );
  const d = r.rows[0];
  if (!d) return undefined;
  const comment = d.comment?.startsWith('safe-run: ') ? null : d.comment;
  return { owner: d.owner, comment, acl: d.acl, settings: d.settings ?? [] };
}

/**
 * Give `database` the recorded owner, grants and settings (not the comment: see `commentSql`). Steps the
 * role may not take (e.g. giving the database to a role it is not a member of) are skipped and named in
 * the result rather than failing the restore.
 */
export async function applyDatabaseProps(client: pg.Client, database: string, props: DatabaseProps): Promise<string[]> {
  const skipped: string[] = [];
  const run = async (sql: string) => {
    try {
      await client.query(sql);
    } catch (err) {
      skipped.push(`${sql}: ${(err as Error).message}`);
    }
  };
  const db = ident(database);
  await run(`ALTER DATABASE ${db} OWNER TO ${ident(props.owner)}`);
  for (const s of props.settings) {
    const eq = s.indexOf('=');
    await run(`ALTER DATABASE ${db} SET ${ident(s.slice(0, eq))} TO ${literal(s.slice(eq + 1))}`);
  }
  if (props.acl !== null) {
    // Start from nothing, then grant each recorded item: the default PUBLIC grants may have been revoked.
    await run(`REVOKE ALL ON DATABASE ${db} FROM PUBLIC`);
    for (const item of parseAcl(props.acl)) {
      const to = item.grantee === '' ? 'PUBLIC' : ident(item.grantee);
      if (item.privileges.length > 0) await run(`GRANT ${item.privileges.join(', ')} ON DATABASE ${db} TO ${to}`);
      if (item.grantable.length > 0) await run(`GRANT ${item.grantable.join(', ')} ON DATABASE ${db} TO ${to} WITH GRANT OPTION`);
    }
  }
  return skipped;
}

/** The statement that sets `database`'s comment to `comment` (null removes it). */
export function commentSql(database: string, comment: string | null): string {
  return `COMMENT ON DATABASE ${ident(database)} IS ${comment === null ? 'NULL' : literal(comment)}`;
}

const PRIVILEGE: Record<string, string> = { C: 'CREATE', T: 'TEMPORARY', c: 'CONNECT' };

/** "{=Tc/app,\"my role\"=C*T/app}" → grantees with their privileges, split by grant option. */
export function parseAcl(acl: string): Array<{ grantee: string; privileges: string[]; grantable: string[] }> {
  const items = acl.replace(/^\{|\}$/g, '');
  if (items === '') return [];
  const out: Array<{ grantee: string; privileges: string[]; grantable: string[] }> = [];
  for (const raw of items.match(/("(?:[^"\\]|\\.)*"|[^,])+/g) ?? []) {
    const item = raw.startsWith('"') ? JSON.parse(raw) as string : raw;
    const slash = item.lastIndexOf('/');
    const body = item.slice(0, slash);
    const eq = body.lastIndexOf('=');
    const grantee = body.slice(0, eq).replace(/^"|"$/g, '').replace(/""/g, '"');
    const privileges: string[] = [];
    const grantable: string[] = [];
    const letters = body.slice(eq + 1);
    for (let i = 0; i < letters.length; i++) {
      const p = PRIVILEGE[letters[i]!];
      if (!p) continue;
      if (letters[i + 1] === '*') (grantable.push(p), i++);
      else privileges.push(p);
    }
    out.push({ grantee, privileges, grantable });
  }
  return out;
}
