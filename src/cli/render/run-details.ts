// The text of `safe-run show`: one run (or restore) in full, labelled lines that fit 80 columns.
import { shellJoin, shellQuote } from '../../core/shell-quote.js';
import { shortId } from '../../ids.js';
import { isOwnCommand, type BackupRef, type RunRecord } from '../../oplog/run-record.js';
import type { Backup } from '../../store/manifest.js';
import type { PruneNote } from '../../core/pruned-backups.js';
import type { Recheck } from '../../core/recheck-backup.js';
import type { Paint } from './colour.js';
import { checkLabel } from './backup-state.js';
import { clip, duration, oneLine, shortPath, size, visible, when } from './format.js';
import { describeRun } from './run-summary.js';

export interface CheckedBackup {
  ref: BackupRef;
  /** Its manifest in the store, if it is still listed there. */
  stored?: Backup;
  /** Set when retention removed it (the log's prune record). */
  pruned?: PruneNote;
  check: Recheck;
}

export interface RunDetails {
  record: RunRecord;
  backups: CheckedBackup[];
  /** Restores and rollbacks: the backups that were put in place, and the runs they were taken for. */
  restored: Array<{ backupId: string; database: string; method?: string; stored?: Backup; run?: RunRecord }>;
  /** Whether the backups were re-hashed and re-checked (not with --no-verify). */
  verified: boolean;
  width: number;
  /** Paths inside it are shown relative to it. */
  cwd: string;
  /** `-C <dir>` or `--config <file>`: printed commands carry the project, to be pasted anywhere. */
  project: string[];
}

const LABEL = 10;
const line = (label: string, value: string) => `${label.padEnd(LABEL)}${value}`;

export function renderRunDetails(d: RunDetails, c: Paint): string {
  const r = d.record;
  const isRestore = r.kind === 'restore' || r.kind === 'rollback';
  const out: string[] = [];
  out.push(line(r.kind === 'run' ? 'run' : r.kind, `${r.id}  ${statusText(r, c)}`));
  out.push(...wrapCommand(isOwnCommand(r) ? ['safe-run', ...r.argv] : r.argv, d.width));
  if (r.reason) out.push(...wrapped('reason', oneLine(r.reason), d.width));
  out.push(line('cwd', visible(r.cwd)));
  out.push(line('by', `${r.user} on ${r.host}, pid ${r.pid}, safe-run ${r.safeRunVersion}`));
  out.push(line('started', `${localTime(r.startedAt)}  (${when(r.startedAt)})`));
  if (r.endedAt) out.push(line('ended', `${localTime(r.endedAt)}${r.durationMs === undefined ? '' : `, after ${duration(r.durationMs)}`}`));
  out.push(...wrapped('databases', r.databases.join(', ') || '(none)', d.width));
  if (r.backupSkipped) out.push(...wrapped('backup', `skipped: ${oneLine(r.backupSkipped.reason)}`, d.width).map((l) => c.yellow(l)));
  if (r.error) out.push(...wrapped('error', oneLine(r.error), d.width).map((l) => c.red(l)));
  if (r.autoRollback) {
    const a = r.autoRollback;
    const text = a.ok ? `restored after the failure${a.restoreRunId ? ` (${a.restoreRunId})` : ''}` : `failed: ${oneLine(a.error ?? '?')}`;
    out.push(...wrapped('rollback', text, d.width).map((l) => (a.ok ? c.green(l) : c.red(l))));
  }
  if (d.restored.length > 0) {
    out.push('', 'restored');
    for (const x of d.restored) out.push(...restoredLines(x, d.width, c));
  }
  if (d.backups.length > 0) {
    out.push('', isRestore ? 'safety backups taken before the restore' : r.kind === 'backup' ? 'backups taken' : 'backups taken before the run');
    for (const b of d.backups) out.push(...backupLines(b, d.verified, d.cwd, c));
  }
  out.push('', ...undoLines(d, c));
  return out.join('\n');
}

function statusText(r: RunRecord, c: Paint): string {
  switch (r.status) {
    case 'running':
      return c.yellow('running');
    case 'interrupted':
      return c.yellow('interrupted: safe-run was stopped mid-run');
    case 'aborted':
      return c.red(r.kind === 'run' || r.kind === 'library' ? 'aborted: the command was not started' : 'aborted');
    default:
      if (r.kind === 'restore' || r.kind === 'rollback') return r.status === 'succeeded' ? c.green('restored') : c.red('failed');
      if (r.signal) return c.red(`killed by ${r.signal}`);
      return r.exitCode === 0 ? c.green('exit 0') : c.red(`exit ${r.exitCode ?? '?'}`);
  }
}

function backupLines(b: CheckedBackup, verified: boolean, cwd: string, c: Paint): string[] {
  const taken = b.stored ? `${b.stored.kind}, ${size(b.ref.size)}, taken ${when(b.stored.createdAt)}` : `${size(b.ref.size)}, ${c.yellow('no longer in the store')}`;
  const ch = b.check;
  let state: string;
  if (b.pruned) state = c.yellow(`backup pruned on ${localTime(b.pruned.at)} (prune ${shortId(b.pruned.pruneRunId)})`);
  else if (!ch.present) state = c.red(`missing: ${ch.verifyError ?? 'the file is gone'}`);
  else if (!verified || ch.verified === null) state = `present ${c.dim('(not re-checked: --no-verify)')}`;
  else if (ch.verified) state = c.green(`verified: sha256 matches, ${b.stored ? checkLabel(b.stored.facts) : 'check ok'}`);
  else state = c.red(`does not verify: ${oneLine(ch.verifyError ?? '?')}`);
  return [
    `  ${b.ref.id}  ${b.ref.database}`,
    `    backup  ${taken}`,
    `    sha256  ${b.ref.sha256}`,
    `    file    ${visible(shortPath(b.ref.path, cwd))}`,
    `    state   ${state}`,
  ];
}

function restoredLines(x: RunDetails['restored'][number], width: number, c: Paint): string[] {
  const head = `  ${x.backupId}  ${x.database}`;
  if (!x.stored) return [head, `    ${c.yellow('that backup is no longer in the store')}`];
  let what = `${x.method ? `by ${x.method}: ` : ''}${x.stored.kind} backup of ${when(x.stored.createdAt)}`;
  if (x.run) what += `, before ${shortId(x.run.id)}: ${oneLine(describeRun(x.run))}`;
  return [head, `    ${clip(what, width - 4)}`];
}

function undoLines(d: RunDetails, c: Paint): string[] {
  const r = d.record;
  const isRestore = r.kind === 'restore' || r.kind === 'rollback';
  if (r.status === 'aborted' && !isRestore) return [line('undo', 'nothing to undo: the command never started')];
  if (r.kind === 'backup') return d.backups.map((b) => line('restore', shellJoin(['safe-run', ...d.project, 'restore', b.ref.id])));
  const command = r.rollbackCommand ?? (d.backups.length > 0 && !isRestore ? `safe-run rollback ${r.id}` : undefined);
  if (!command && r.backupSkipped) return [line('undo', 'nothing to roll back to: its backup was skipped (backups were switched off)')];
  if (!command) return [line('undo', isRestore ? 'nothing to undo: no database was changed' : 'no backups to roll back to')];
  const lines = [line('undo', command)];
  const bad = d.backups.filter((b) => !b.check.present || b.check.verified === false);
  for (const b of bad) {
    const why = b.pruned ? 'was pruned (rollback names one to restore instead)' : b.check.present ? 'does not verify' : 'is missing';
    lines.push(' '.repeat(LABEL) + c.red(`would be refused: backup ${b.ref.id} ${why}`));
  }
  return lines;
}

/** A labelled value broken between words to fit `width` (a word longer than the line stays whole). */
function wrapped(label: string, text: string, width: number): string[] {
  const lines: string[] = [];
  let current = '';
  for (const w of text.split(' ')) {
    if (current && LABEL + current.length + 1 + w.length > width) {
      lines.push(current);
      current = w;
    } else current = current ? `${current} ${w}` : w;
  }
  lines.push(current);
  return lines.map((l, i) => (i === 0 ? line(label, l) : ' '.repeat(LABEL) + l));
}

/** The command, shell-quoted, broken between words with " \" so that it still pastes as one. */
function wrapCommand(argv: string[], width: number): string[] {
  const words = argv.map(shellQuote);
  const lines: string[] = [];
  let current = '';
  for (const w of words) {
    if (current && LABEL + current.length + 1 + w.length + 2 > width) {
      lines.push(`${current} \\`);
      current = `  ${w}`;
    } else current = current ? `${current} ${w}` : w;
  }
  lines.push(current);
  return lines.map((l, i) => (i === 0 ? line('command', l) : ' '.repeat(LABEL) + l));
}

/** "2026-11-25 14:15:03" in local time. */
function localTime(iso: string): string {
  const d = new Date(iso);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}
