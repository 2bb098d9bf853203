// What a run changed: its pre-run backups compared with the databases now (or with another backup).
import type { DatabaseDiff } from '../engines/diff-types.js';
import type { Engine } from '../engines/engine.js';
import { SafeRunError } from '../errors.js';
import type { RunRecord } from '../oplog/run-record.js';
import type { Backup } from '../store/manifest.js';
import { withPlainSnapshot } from './plain-snapshot.js';
import { engineForBackup, type Context } from './context.js';

export interface DiffRunOptions {
  /** Compare with this backup instead of the live database. */
  to?: Backup;
  /** Changed rows to keep per table. */
  rows?: number;
}

/**
 * The backups of a run, as stored (with their facts); a missing one is an error that says so, of kind
 * 'restore' (exit 4, nothing changed) for a rollback, 'usage' otherwise.
 */
export async function backupsOfRun(ctx: Context, run: RunRecord, kind: 'usage' | 'restore' = 'usage'): Promise<Backup[]> {
  const stored = await ctx.store.list();
  return run.backups.map((ref) => {
    const b = stored.find((s) => s.id === ref.id);
    if (!b) {
      throw new SafeRunError(kind, `backup ${ref.id} of ${ref.database} (run ${run.id.slice(0, 8)}) is no longer in the store ${ctx.store.root}`, {
        database: ref.database,
        hint: 'nothing was changed; see what is left with: safe-run list',
      });
    }
    return b;
  });
}

export async function diffRun(ctx: Context, run: RunRecord, opts: DiffRunOptions = {}): Promise<DatabaseDiff[]> {
  let backups = await backupsOfRun(ctx, run);
  if (opts.to) {
    backups = backups.filter((b) => b.source === opts.to!.source);
    if (backups.length === 0) {
      throw new SafeRunError('usage', `backup ${opts.to.id.slice(0, 8)} is of ${opts.to.source}, which run ${run.id.slice(0, 8)} did not back up`, {
        hint: 'give --to a backup of one of the run\'s databases (safe-run list)',
      });
    }
  }
  const diffs: DatabaseDiff[] = [];
  for (const b of backups) diffs.push(await diffBackup(b, opts, ctx));
  return diffs;
}

/** A backup against its live database now (or against `opts.to`). */
export async function diffBackup(b: Backup, opts: DiffRunOptions = {}, ctx?: Context): Promise<DatabaseDiff> {
  const engine = await diffingEngine(b, ctx);
  const to = opts.to;
  return withPlainSnapshot(b, (snapshot) => {
    const before = { snapshot, label: `backup ${b.id.slice(0, 8)}` };
    if (!to) return engine.diff!(before, { live: true, label: 'now' }, { rows: opts.rows });
    return withPlainSnapshot(to, (other) => engine.diff!(before, { snapshot: other, label: `backup ${to.id.slice(0, 8)}` }, { rows: opts.rows }));
  });
}

/** What restoring `b` would change: from the live database now to the backup. */
export async function diffRestore(b: Backup, rows = 0, ctx?: Context): Promise<DatabaseDiff> {
  const engine = await diffingEngine(b, ctx);
  return withPlainSnapshot(b, (snapshot) => engine.diff!({ live: true, label: 'now' }, { snapshot, label: `backup ${b.id.slice(0, 8)}` }, { rows }));
}

/** The engine of a backup's database, when it can tell what changed; a usage error when it cannot. */
async function diffingEngine(b: Backup, ctx?: Context): Promise<Engine> {
  const engine = await engineForBackup(b.engine, b.database, b.source, { configured: ctx?.config.databases });
  if (!engine.capabilities.diff || !engine.diff) {
    throw new SafeRunError('usage', `safe-run cannot compare ${b.engine} databases yet (${b.database})`, {
      database: b.database,
      hint: 'the backups and the rollback work as usual; compare with the database\'s own tools',
    });
  }
  return engine;
}
