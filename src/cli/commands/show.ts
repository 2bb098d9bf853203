// safe-run show <run-id>: one run in full, with each backup re-checked as a restore would check it.
import { SafeRunError } from '../../errors.js';
import { pickRun } from '../pick.js';
import { parse } from '../args.js';
import { COMMAND_OPTIONS } from '../options.js';
import { prunedBy } from '../../core/pruned-backups.js';
import { recheckBackup } from '../../core/recheck-backup.js';
import { paintFor } from '../render/colour.js';
import { runJson } from '../render/json.js';
import { renderRunDetails, type CheckedBackup } from '../render/run-details.js';
import { projectArgs } from '../../core/rollback-command.js';
import { viewWidth } from '../render/table.js';
import { contextFrom } from '../setup.js';

export const help = `safe-run show — one run in full

Usage: safe-run show <run-id> [--no-verify] [--json]

  <run-id>         the run's id or any unique prefix of it (see safe-run log);
                   "last" means the newest run
  --no-verify      do not re-hash and re-check the backups (fast); only say
                   whether their files are still there
  --json           print the record as JSON on stdout; each backup also has
                   present, verified, verifyError and checkedWhenTaken (its
                   check when taken; "on": the copy, or the read snapshot
                   the copy provably holds)
  --config PATH    use this config file

Each backup's file is hashed again and its integrity checked, as a restore
would, so you know before you need it whether the rollback will work.
Exit codes: 0 ok (also when a backup no longer verifies: that is shown),
2 usage (unknown or ambiguous id), 6 the operation log cannot be read.`;

const OPTIONS = COMMAND_OPTIONS.show;

export async function run(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, OPTIONS, 'show');
  if (positionals.length !== 1) {
    throw new SafeRunError('usage', 'show takes one run id', { hint: 'safe-run show <run-id>, or safe-run show last; see the ids with: safe-run log' });
  }
  const ctx = contextFrom(values);
  const runs = await ctx.log.runs();
  const record = pickRun(runs, positionals[0]!, { ctx, verb: 'show' });
  const verify = !values['no-verify'];
  const stored = new Map((await ctx.store.list()).map((b) => [b.id, b]));
  const backups: CheckedBackup[] = [];
  for (const ref of record.backups) {
    const s = stored.get(ref.id);
    backups.push({ ref, stored: s, pruned: s ? undefined : prunedBy(runs, ref.id), check: await recheckBackup(s ?? ref, s?.facts.check.level ?? ctx.config.check, verify, ctx.config.databases) });
  }
  const restored = (record.restored ?? []).map((x) => {
    const s = stored.get(x.backupId);
    return { ...x, stored: s, run: s?.runId ? runs.find((r) => r.id === s.runId) : undefined };
  });
  if (values.json) {
    const json = {
      ...runJson(record),
      backups: backups.map((b) => ({
        ...b.ref,
        kind: b.stored?.kind ?? null,
        createdAt: b.stored?.createdAt ?? null,
        inStore: b.stored !== undefined,
        prunedAt: b.pruned?.at ?? null,
        // The check made when it was taken, and on what (the copy, or the read snapshot it holds).
        checkedWhenTaken: b.stored?.facts.check ?? null,
        ...b.check,
      })),
    };
    process.stdout.write(JSON.stringify(json, null, 2) + '\n');
    return 0;
  }
  const c = paintFor(process.stdout);
  process.stdout.write(renderRunDetails({ record, backups, restored, verified: verify, width: viewWidth(), cwd: ctx.cwd, project: projectArgs(ctx) }, c) + '\n');
  return 0;
}

