// How `safe-run doctor` reads: one line per database, then for a damaged one what restoring would cost.
import type { DoctorFinding, RepairPlan, RepairResult } from '../../core/doctor.js';
import { shortId } from '../../ids.js';
import type { Paint } from './colour.js';
import { age, clip, elapsed, oneLine, shortPath, visible, when } from './format.js';
import { describeRun } from './run-summary.js';

export function renderFinding(f: DoctorFinding, cwd: string, c: Paint): string {
  const label = f.state === 'ok' ? c.green('ok'.padEnd(9)) : f.state === 'unchecked' ? c.yellow('unchecked') : c.red(f.state.padEnd(9));
  const where = `${f.database} (${visible(shortPath(f.location, cwd))})`;
  const detail = f.state === 'ok' ? `  ${c.dim('integrity_check ok')}` : '';
  return `${label} ${where}${detail}\n${f.problems.map((p) => `          ${visible(oneLine(p))}\n`).join('')}`;
}

/** What restoring would use and lose: the backup, the time since it, the runs since it. */
export function renderPlan(database: string, plan: RepairPlan, root: string, cwd: string, c: Paint, asking: boolean): string {
  const lines: string[] = [];
  for (const s of plan.skipped) lines.push(`  passed over backup ${shortId(s.id)}: ${visible(oneLine(s.why))}`);
  const b = plan.backup;
  if (!b) {
    lines.push(`  ${c.red('no backup of ' + database + ' verifies')}: nothing to restore from; the database was left as it is`);
    return lines.map((l) => `${l}\n`).join('');
  }
  lines.push(`${asking ? 'Restore' : 'restore'} ${database} from backup ${shortId(b.id)} (${b.kind}, ${when(b.createdAt)}, ${age(b.createdAt)})${asking ? '?' : ''}`);
  lines.push(`  the damaged files are moved into ${shortPath(root, cwd)}/${database}/corrupted-<time>/, never deleted`);
  lines.push(`  lost: every change since ${when(b.createdAt)} (${elapsed(b.createdAt)})`);
  const runs = plan.lostRuns;
  lines.push(`  runs logged since: ${runs.length === 0 ? 'none' : runs.length}`);
  for (const r of runs.slice(-5)) lines.push(`    ${shortId(r.id)}  ${when(r.startedAt)}  ${clip(oneLine(describeRun(r)), 50)}`);
  if (runs.length > 5) lines.push(`    … and ${runs.length - 5} more (safe-run log --db ${database})`);
  return lines.map((l) => `${l}\n`).join('');
}

export function renderRepaired(database: string, plan: RepairPlan, r: RepairResult, cwd: string, c: Paint): string {
  const b = plan.backup!;
  return (
    `${c.green('restored')}  ${database} to its state of ${when(b.createdAt)} (backup ${shortId(b.id)})\n` +
    `          the damaged files are in ${visible(shortPath(r.dir, cwd))}\n` +
    `          logged as run ${shortId(r.record.id)}: safe-run show ${shortId(r.record.id)}\n`
  );
}
