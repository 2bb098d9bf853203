// safe-run restore with no id, on a terminal: choose the database, then the backup, preview, confirm, restore.
import type { Context } from '../../core/context.js';
import { SafeRunError } from '../../errors.js';
import { shortId } from '../../ids.js';
import type { RunRecord } from '../../oplog/run-record.js';
import type { Backup } from '../../store/manifest.js';
import { paintFor } from '../render/colour.js';
import { confirmByTyping } from '../render/confirm.js';
import { age, shortPath, size } from '../render/format.js';
import { selectOne, type Choice } from '../render/prompts-select.js';
import { renderTable } from '../render/table.js';
import { performRestore, printPreview, restoreCommand, safetyLines, type RestorePreview } from './restore-flow.js';

export interface WizardOptions {
  /** Only these database names (from --db); all with backups when empty. */
  only: string[];
  into?: string;
  dryRun: boolean;
  json: boolean;
  waitMs: number;
  preview: RestorePreview;
}

/** Walk the user through a restore. Every prompt's Ctrl-C throws 'interrupted' before anything changed. */
export async function runRestoreWizard(ctx: Context, opts: WizardOptions): Promise<number> {
  const c = paintFor(process.stderr);
  const stored = await ctx.store.list();
  const database = await chooseDatabase(ctx, stored, opts.only);
  const backups = stored.filter((b) => b.database === database).reverse(); // newest first
  const backup = await chooseBackup(ctx, database, backups);

  await printPreview(opts.preview, backup);
  const target = opts.into ?? backup.source;
  const title = `Restore ${database} (${shortPath(target, ctx.cwd)}) to backup ${shortId(backup.id)} from ${age(backup.createdAt)} (${backup.kind})`;
  if (opts.dryRun) {
    process.stderr.write(`${title}\n${c.bold('dry run')}   nothing was changed; to restore it: ${restoreCommand(ctx, backup.id, { into: opts.into, yes: false })}\n`);
    return 0;
  }
  process.stderr.write(`${title}?\n  ${(await safetyLines(ctx, [{ backup, into: opts.into }])).join('\n  ')}\n`);
  if (!(await confirmByTyping(database, { action: 'restore', decline: 'keep it as it is' }))) {
    throw new SafeRunError('usage', `not confirmed; ${database} was not changed`, { hint: `type "${database}" exactly to restore it` });
  }
  await performRestore(
    ctx,
    {
      backups: [backup],
      into: opts.into,
      kind: 'restore',
      argv: ['restore', backup.id, ...(opts.into ? ['--into', opts.into] : [])],
      waitMs: opts.waitMs,
    },
    opts.json,
  );
  return 0;
}

/** The databases that have backups (plus the config's, shown without them); skipped when one is left. */
async function chooseDatabase(ctx: Context, stored: Backup[], only: string[]): Promise<string> {
  const counts = new Map<string, number>();
  for (const db of ctx.config.databases) counts.set(db.name, 0);
  for (const b of stored) counts.set(b.database, (counts.get(b.database) ?? 0) + 1);
  const names = [...counts.keys()].filter((n) => only.length === 0 || only.includes(n)).sort();
  const usable = names.filter((n) => counts.get(n)! > 0);
  if (usable.length === 0) {
    const which = only.length ? `of ${only.join(', ')} ` : '';
    throw new SafeRunError('usage', `there are no backups ${which}in ${ctx.store.root} yet`, {
      hint: 'take one with: safe-run backup (a guarded run takes one too)',
    });
  }
  if (usable.length === 1) {
    process.stderr.write(`database  ${usable[0]} (the only one with backups)\n`);
    return usable[0]!;
  }
  const choices: Choice<string>[] = names.map((n) => {
    const count = counts.get(n)!;
    const where = ctx.config.databases.find((d) => d.name === n)?.url;
    return {
      title: `${n}  ${count === 0 ? 'no backups' : `${count} backup${count === 1 ? '' : 's'}`}`,
      value: n,
      description: where ? shortPath(where, ctx.cwd) : undefined,
      disabled: count === 0,
    };
  });
  return selectOne('Which database?', choices);
}

async function chooseBackup(ctx: Context, database: string, backups: Backup[]): Promise<Backup> {
  const runs = new Map<string, RunRecord>((await ctx.log.runs()).map((r) => [r.id, r]));
  const width = Math.max(60, Math.min(120, process.stderr.columns ?? 80)) - 4; // prompts' pointer and margin
  // A control character in a title (a newline in a command's argument) would break the list's layout.
  const rows = backups.map((b) => [shortId(b.id), age(b.createdAt), b.kind, size(b.size), whatFor(b, runs).replace(/[\x00-\x1f\x7f]+/g, ' ')]);
  const lines = renderTable(
    [{ header: 'ID' }, { header: 'AGE', right: true }, { header: 'KIND' }, { header: 'SIZE', right: true }, { header: 'WHY', flexible: true }],
    rows,
    width,
  ).split('\n');
  const choices = backups.map((b, i) => ({ title: lines[i + 1]!, value: b }));
  return selectOne(`Which backup of ${database}? (newest first)`, choices);
}

/** The backup's reason, or the command of the run it was taken for. */
function whatFor(b: Backup, runs: Map<string, RunRecord>): string {
  if (b.reason) return b.reason;
  const run = b.runId ? runs.get(b.runId) : undefined;
  if (!run) return b.kind === 'manual' ? 'manual backup' : '';
  if (run.kind === 'restore' || run.kind === 'rollback') return `before safe-run ${run.argv.join(' ')}`;
  return run.argv.join(' ');
}
