// Re-verify the store: every backup re-hashed and re-checked as a restore would, plus what cannot be a
// backup (damaged manifests, orphan files), and how old each database's newest good backup is.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import type { CheckLevel, DatabaseConfig } from '../config.js';
import { describeCause, SafeRunError } from '../errors.js';
import { MANIFEST, type BackupKind, type Backup } from '../store/manifest.js';
import { pauseForTest } from '../store/page-store/test-pause.js';
import type { OrphanEntry } from '../store/store-inventory.js';
import { recordVerification } from '../store/verification-record.js';
import { checkAgainstLog } from './backup-identity.js';
import type { Context } from './context.js';
import { recheckBackup } from './recheck-backup.js';

/** verified: hashes match and the engine's check passed; failed: it did not; missing: a file is gone; damaged: its manifest is unusable. */
export type VerifyState = 'verified' | 'failed' | 'missing' | 'damaged';

export interface VerifiedBackup {
  id: string;
  database: string;
  engine: string | null;
  kind: BackupKind | null;
  createdAt: string | null;
  /** The backup's main file (its directory, for a damaged one). */
  path: string;
  state: VerifyState;
  problems: string[];
}

export interface Freshness {
  database: string;
  /** The newest backup that verified in this run, if any. */
  newestVerified: string | null;
  createdAt: string | null;
  ageMs: number | null;
  ok: boolean;
}

export interface VerifyReport {
  summary: {
    level: CheckLevel;
    checked: number;
    verified: number;
    failed: number;
    missing: number;
    damaged: number;
    orphans: number;
    startedAt: string;
    durationMs: number;
    /** With --max-age: the limit, and whether every database has a verified backup younger than it. */
    maxAgeMs: number | null;
    fresh: boolean | null;
    /** Why the results could not be recorded for `list` (a full or read-only store), if so. */
    notRecorded: string | null;
  };
  backups: VerifiedBackup[];
  orphans: OrphanEntry[];
  freshness: Freshness[];
}

export interface VerifyRequest {
  level: CheckLevel;
  /** Only these backups (full ids, damaged ones included); default every one in scope. */
  ids?: string[];
  /** Only backups of the databases this accepts (by name, and source when known); default all. */
  only?: (database: string, source: string | undefined) => boolean;
  /** Also judge freshness: every database in scope needs a verified backup younger than this. */
  maxAgeMs?: number;
  /** Databases that must have a fresh backup even when the store has none of them (the configured ones in scope). */
  expected?: string[];
  onBackup?: (result: VerifiedBackup) => void;
}

export async function verifyStore(ctx: Context, req: VerifyRequest): Promise<VerifyReport> {
  const started = Date.now();
  const all = await ctx.store.inventory().catch((err: unknown) => {
    throw new SafeRunError('log', `cannot read the backup store ${ctx.store.root}: ${describeCause(err)}`, {
      stage: 'verify',
      hint: 'check the permissions of the backup directory (backupDir in the config)',
      cause: err,
    });
  });
  const inScope = (database: string, source: string | undefined, id?: string) =>
    (!req.only || req.only(database, source)) && (!req.ids || (id !== undefined && req.ids.includes(id)));
  const runs = await ctx.log.runs().catch(() => []); // an unreadable log only loses the identity check
  const results: VerifiedBackup[] = [];
  let notRecorded: string | null = null;

  for (const d of all.damaged.filter((x) => inScope(x.database, undefined, x.id))) {
    const r: VerifiedBackup = { id: d.id, database: d.database, engine: null, kind: null, createdAt: null, path: d.dir, state: 'damaged', problems: [d.problem] };
    results.push(r);
    req.onBackup?.(r);
  }
  await pauseForTest('verify-listed');
  for (const b of all.backups.filter((x) => inScope(x.database, x.source, x.id)).reverse()) {
    const r = await verifyOne(b, req.level, runs, ctx.config.databases);
    // Its whole directory left the store while we checked: a prune removed it (verify does not wait
    // for one). It is no longer listed, so it is not reported: a missing backup is one still listed.
    if (r.state !== 'verified' && !(await isListed(b))) continue;
    results.push(r);
    req.onBackup?.(r);
    if (r.state === 'damaged' || r.state === 'missing') continue; // nothing of its own left to write beside
    await recordVerification(b.path, { at: new Date().toISOString(), level: req.level, ok: r.state === 'verified', problems: r.problems }).catch((err) => {
      notRecorded ??= describeCause(err);
    });
  }
  const orphans = req.ids ? [] : all.orphans.filter((o) => inScope(o.database, undefined));
  const freshness = req.maxAgeMs === undefined ? [] : judgeFreshness(results, req, started);
  const count = (s: VerifyState) => results.filter((r) => r.state === s).length;
  return {
    summary: {
      level: req.level,
      checked: results.length,
      verified: count('verified'),
      failed: count('failed'),
      missing: count('missing'),
      damaged: count('damaged'),
      orphans: orphans.length,
      startedAt: new Date(started).toISOString(),
      durationMs: Date.now() - started,
      maxAgeMs: req.maxAgeMs ?? null,
      fresh: req.maxAgeMs === undefined ? null : freshness.every((f) => f.ok),
      notRecorded,
    },
    backups: results,
    orphans,
    freshness,
  };
}

async function verifyOne(b: Backup, level: CheckLevel, runs: Awaited<ReturnType<Context['log']['runs']>>, configured: DatabaseConfig[]): Promise<VerifiedBackup> {
  const base = { id: b.id, database: b.database, engine: b.engine ?? null, kind: b.kind ?? null, createdAt: b.createdAt, path: b.path };
  try {
    checkAgainstLog(b, runs);
  } catch (err) {
    return { ...base, state: 'damaged', problems: [(err as Error).message.replace(/^backup \w+ is damaged: /, '')] };
  }
  try {
    const check = await recheckBackup(b, level, true, configured);
    if (!check.present) return { ...base, state: 'missing', problems: [check.verifyError ?? 'the file is gone'] };
    return { ...base, state: check.verified ? 'verified' : 'failed', problems: check.verifyError ? check.verifyError.split('; ') : [] };
  } catch (err) {
    return { ...base, state: 'failed', problems: [describeCause(err)] };
  }
}

/** Per database in scope: its newest backup that verified now, and whether it is younger than the limit. */
function judgeFreshness(results: VerifiedBackup[], req: VerifyRequest, now: number): Freshness[] {
  const names = [...new Set([...(req.ids ? [] : (req.expected ?? [])), ...results.map((r) => r.database)])].sort();
  return names.map((database) => {
    const newest = results
      .filter((r) => r.database === database && r.state === 'verified' && r.createdAt)
      .sort((a, b) => b.createdAt!.localeCompare(a.createdAt!))[0];
    const ageMs = newest ? now - Date.parse(newest.createdAt!) : null;
    return { database, newestVerified: newest?.id ?? null, createdAt: newest?.createdAt ?? null, ageMs, ok: ageMs !== null && ageMs <= req.maxAgeMs! };
  });
}

/** Whether the backup's directory is still in the store under its id (its manifest there). */
async function isListed(b: Backup): Promise<boolean> {
  return fs
    .stat(path.join(path.dirname(b.path), MANIFEST))
    .then(() => true)
    .catch(() => false);
}
