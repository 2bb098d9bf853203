// How `safe-run verify` reads on a terminal: one line per backup as it is checked, then the totals.
import type { VerifiedBackup, VerifyReport } from '../../core/verify-store.js';
import { shortId } from '../../ids.js';
import type { Paint } from './colour.js';
import { duration, elapsed, oneLine, shortPath, visible, when } from './format.js';

export function renderVerifyLine(r: VerifiedBackup, cwd: string, c: Paint): string {
  const state = r.state === 'verified' ? c.green('verified') : c.red(r.state.padEnd(8));
  const what = [shortId(r.id), r.database, r.kind ?? '', r.createdAt ? when(r.createdAt) : ''].filter(Boolean).join('  ');
  const problems = r.problems.map((p) => `          ${visible(oneLine(p))}\n`).join('');
  const where = r.state === 'damaged' ? `          ${shortPath(r.path, cwd)}\n` : '';
  return `${state}  ${what}\n${problems}${where}`;
}

export function renderVerifySummary(r: VerifyReport, root: string, cwd: string, c: Paint): string {
  const s = r.summary;
  const lines: string[] = [];
  for (const o of r.orphans) lines.push(`${c.red('orphan')}    ${visible(shortPath(o.path, cwd))}\n          ${o.why}; left as it is`);
  for (const f of r.freshness) {
    const limit = elapsed(new Date(Date.now() - s.maxAgeMs!).toISOString());
    lines.push(
      f.ok
        ? `${c.green('fresh')}     ${f.database}: newest verified backup ${elapsed(f.createdAt!)} old (limit ${limit})`
        : `${c.red('stale')}     ${f.database}: ${f.createdAt ? `newest verified backup is ${elapsed(f.createdAt)} old` : 'no verified backup'} (limit ${limit})`,
    );
  }
  if (s.checked === 0 && s.orphans === 0) lines.push(`no backups to verify in ${shortPath(root, cwd)}`);
  const parts = [
    `${s.checked} backup${s.checked === 1 ? '' : 's'}: ${s.verified} verified`,
    ...(s.failed ? [`${s.failed} failed`] : []),
    ...(s.missing ? [`${s.missing} missing`] : []),
    ...(s.damaged ? [`${s.damaged} damaged`] : []),
    ...(s.orphans ? [`${s.orphans} orphan${s.orphans === 1 ? '' : 's'}`] : []),
  ];
  lines.push(c.dim(`${parts.join(', ')} · ${s.level} check in ${duration(s.durationMs)}`));
  if (s.notRecorded) lines.push(`${c.yellow('warning')}   could not record the results for safe-run list: ${s.notRecorded}`);
  if (s.failed + s.missing + s.damaged > 0) lines.push(`a backup that does not verify cannot be restored; take a new one: safe-run backup`);
  return lines.map((l) => `${l}\n`).join('');
}
