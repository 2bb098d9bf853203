// safe-run doctor: check every database where it is; move a damaged one aside and restore a good backup.
import { selectDatabases } from '../../config.js';
import { examineDatabases, planRepair, repairDatabase, type DoctorFinding, type RepairPlan, type RepairResult } from '../../core/doctor.js';
import { projectArgs } from '../../core/rollback-command.js';
import { shellJoin } from '../../core/shell-quote.js';
import { EXIT, SafeRunError } from '../../errors.js';
import { many, parse, waitMs } from '../args.js';
import { COMMAND_OPTIONS } from '../options.js';
import { paintFor } from '../render/colour.js';
import { confirmByTyping } from '../render/confirm.js';
import { renderFinding, renderPlan, renderRepaired } from '../render/doctor-report.js';
import { eventRenderer } from '../render/events.js';
import { canPrompt, contextFrom } from '../setup.js';

export const help = `safe-run doctor — check the databases; restore a damaged one

Usage: safe-run doctor [--db NAME|PATH]... [--yes] [--json]

  --db NAME|PATH   check this database (repeatable); default: the config's
  --yes            restore a damaged database without asking (needed without
                   a terminal, unless the config sets "autoRestore": true)
  --json           print { databases: [...] } on stdout
  --wait SECONDS   wait this long for another safe-run's lock (default 30)
  --no-wait        fail at once if a database is locked
  --config PATH    use this config file

SQLite: PRAGMA integrity_check (read-only), and a look at the file and its
-wal and -shm for a truncated file, a deleted -wal or one from another
database. A damaged database is moved into the store as corrupted-<time>
(with its -wal and -shm; never deleted), its newest backup that verifies is
restored, and what that loses is shown: the time since that backup and the
runs logged since. Without a terminal and without --yes, nothing changes.
Exit codes: 0 every database checks out (or was restored), 2 usage,
4 the restore failed (the damaged files are put back), 5 locked, 7 a database
is damaged or missing and was not restored.`;

const OPTIONS = COMMAND_OPTIONS.doctor;

interface Outcome {
  finding: DoctorFinding;
  plan?: RepairPlan;
  repaired?: RepairResult;
  /** Why a damaged database was left as it is. */
  notRepaired?: string;
}

export async function run(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, OPTIONS, 'doctor');
  if (positionals.length > 0) throw new SafeRunError('usage', `doctor: unexpected "${positionals[0]}"`, { hint: 'name databases with --db' });
  const ctx = contextFrom(values);
  const databases = selectDatabases(ctx.config, ctx.cwd, many(values.db));
  if (databases.length === 0) {
    throw new SafeRunError('config', 'no database to check', { hint: 'add "databases" to safe-run.config.json, or name one with --db PATH' });
  }
  const out = process.stderr;
  const c = paintFor(out);
  const yes = Boolean(values.yes) || ctx.config.autoRestore;
  const outcomes: Outcome[] = [];
  for (const { finding, engine } of await examineDatabases(databases)) {
    out.write(renderFinding(finding, ctx.cwd, c));
    const outcome: Outcome = { finding };
    outcomes.push(outcome);
    if (finding.state !== 'damaged') {
      if (finding.state === 'missing') outcome.notRepaired = 'missing: restore it yourself if it should be there (safe-run restore)';
      continue;
    }
    const plan = await planRepair(ctx, engine);
    outcome.plan = plan;
    out.write(renderPlan(engine.name, plan, ctx.store.root, ctx.cwd, c, !yes && canPrompt()));
    if (!plan.backup) {
      outcome.notRepaired = 'no backup of it verifies';
      continue;
    }
    if (!yes) {
      if (!canPrompt()) {
        const command = shellJoin(['safe-run', ...projectArgs(ctx), 'doctor', '--db', engine.name, '--yes']);
        outcome.notRepaired = 'no terminal to confirm on';
        out.write(`  nothing was changed; to restore it, run: ${command}\n`);
        continue;
      }
      if (!(await confirmByTyping(engine.name, { action: 'restore', decline: 'leave it as it is' }))) {
        outcome.notRepaired = 'not confirmed';
        out.write('  nothing was changed\n');
        continue;
      }
    }
    const render = eventRenderer(ctx.cwd);
    try {
      outcome.repaired = await repairDatabase(ctx, engine, plan.backup, { waitMs: waitMs(values), argv: ['doctor', '--db', engine.name, '--yes'], onEvent: render });
    } catch (err) {
      render.stop();
      throw err;
    }
    out.write(renderRepaired(engine.name, plan, outcome.repaired, ctx.cwd, c));
  }
  if (values.json) process.stdout.write(JSON.stringify({ databases: outcomes.map(outcomeJson) }, null, 2) + '\n');
  return outcomes.some((o) => o.notRepaired) ? EXIT.damaged : EXIT.ok;
}

function outcomeJson(o: Outcome) {
  const b = o.plan?.backup;
  return {
    ...o.finding,
    backup: b ? { id: b.id, kind: b.kind, createdAt: b.createdAt } : null,
    skipped: o.plan?.skipped ?? [],
    restored: Boolean(o.repaired),
    notRestored: o.notRepaired ?? null,
    restoreRunId: o.repaired?.record.id ?? null,
    corruptedDir: o.repaired?.dir ?? null,
    setAside: o.repaired?.moved ?? [],
    lost: b ? { since: b.createdAt, ms: Date.now() - Date.parse(b.createdAt), runs: o.plan!.lostRuns.map((r) => r.id) } : null,
  };
}
