// safe-run [options] -- <command> [args...]: the guarded run.
import { selectDatabases } from '../../config.js';
import { guard } from '../../core/guard.js';
import { runCommand, shellExitCode, type CommandOutcome } from '../../core/run-command.js';
import { RUN_EXIT, SafeRunError } from '../../errors.js';
import { many, parse, waitMs } from '../args.js';
import { COMMAND_OPTIONS } from '../options.js';
import { reportError } from '../main.js';
import { paintFor } from '../render/colour.js';
import { eventRenderer } from '../render/events.js';
import { canPrompt, contextFrom } from '../setup.js';
import { diffBackup } from '../../core/diff-run.js';
import { engineForBackup } from '../../core/context.js';
import { compactSummary } from '../render/diff-summary.js';
import type { Backup } from '../../store/manifest.js';
import { size } from '../render/format.js';
import { statSync } from 'node:fs';

/**
 * The compact diff printed after a run is "cheap": it is computed only for databases up to this size,
 * where it takes well under half a second on a 2-core machine (1.35 s at 1 GB measured by npm run
 * bench: both copies are read page by page); beyond it, a hint to run safe-run diff.
 */
const COMPACT_DIFF_MAX_BYTES = 256 * 1024 * 1024;

export { MAIN_HELP as help } from '../main.js';

const OPTIONS = COMMAND_OPTIONS.run;

export async function run(args: string[], command: string[]): Promise<number> {
  const debug = args.includes('--debug');
  try {
    return await guardedRun(args, command);
  } catch (err) {
    // guardedRun throws only before the command starts; afterwards it reports and returns a code.
    if (!(err instanceof SafeRunError) || err.kind === 'interrupted') throw err;
    reportError(err, debug, 'the command was not started; nothing was changed');
    return RUN_EXIT.safeRunFailed;
  }
}

async function guardedRun(args: string[], command: string[]): Promise<number> {
  const { values, positionals } = parse(args, OPTIONS, 'safe-run');
  if (positionals.length > 0) {
    throw new SafeRunError('usage', `unexpected "${positionals[0]}" before "--"`, { hint: 'safe-run [options] -- <command> [args...]' });
  }
  if (command.length === 0 || command[0] === '') {
    throw new SafeRunError('usage', 'no command after "--"', { hint: 'safe-run -- node scripts/migrate.js' });
  }
  const ctx = contextFrom(values);
  const databases = selectDatabases(ctx.config, ctx.cwd, many(values.db));
  const render = eventRenderer(ctx.cwd);
  let outcome: CommandOutcome | undefined;
  let changesShown = false;
  const c = paintFor(process.stderr);
  const changedLines = async (backups: Backup[]) => (await compactChanges(backups)).map((line) => `${c.bold('changed')}   ${line}`);
  try {
    const result = await guard(
      ctx,
      {
        databases,
        argv: command,
        kind: 'run',
        reason: values.reason,
        waitMs: waitMs(values),
        rollbackOnFailure: Boolean(values['rollback-on-failure']),
        bodyMayOutlive: true,
        onEvent: render,
        askRollback: async (_record, backups, done) => {
          if (!canPrompt()) return false;
          const { askRestoreAfterFailure } = await import('./offer-restore.js');
          changesShown = true;
          const exitLabel = done.signal ? `killed by ${done.signal}` : `exit ${done.exitCode}`;
          return askRestoreAfterFailure(
            backups.map((b) => b.database),
            { exitLabel, diffLines: await changedLines(backups) },
          );
        },
      },
      async (_record, { lifeline }) => {
        outcome = await runCommand(command, ctx.cwd, { lifeline });
        const code = shellExitCode(outcome);
        return { ok: code === 0, exitCode: outcome.signal ? null : code, signal: outcome.signal };
      },
    );
    if (outcome?.spawnError) process.stderr.write(`${c.red().bold('safe-run:')} ${outcome.spawnError.message}\n`);
    if (result.rollback) {
      const names = result.record.databases.join(', ');
      process.stderr.write(`${c.green('restored')}  ${names} to the backup taken before the command\n`);
      if (result.rollback.rollbackCommand) process.stderr.write(`${c.bold('undo this restore:')} ${result.rollback.rollbackCommand}\n`);
      return shellExitCode(outcome!);
    }
    if (result.rollbackError) {
      reportError(result.rollbackError, Boolean(values.debug), 'the databases were put back as the command left them');
    }
    process.stderr.write(`${c.bold('undo')}      ${result.record.rollbackCommand}\n`);
    if (!changesShown) for (const line of await changedLines(result.backups)) process.stderr.write(`${line}\n`);
    // The command's own code, unless a restore we offered (or were asked for) failed.
    return result.rollbackError ? RUN_EXIT.safeRunFailed : shellExitCode(outcome!);
  } catch (err) {
    render.stop();
    if (outcome === undefined) throw err; // before the command: run() says it was not started
    // The command ran; what failed came after it (completing the log): say so, keep its exit code.
    const code = shellExitCode(outcome);
    reportError(err, Boolean(values.debug), `the command ran and exited with ${code}`);
    return code;
  }
}

/** One line per database: what the run changed, or why that was not computed. */
async function compactChanges(backups: Backup[]): Promise<string[]> {
  const lines: string[] = [];
  for (const b of backups) lines.push(await compactChange(b));
  return lines;
}

async function compactChange(b: Backup): Promise<string> {
  const live = statSync(b.source, { throwIfNoEntry: false })?.size ?? 0;
  const engine = await engineForBackup(b.engine, b.database, b.source).catch(() => undefined);
  if (Math.max(live, b.size) > (engine?.capabilities.compactDiffMaxBytes ?? COMPACT_DIFF_MAX_BYTES)) {
    return `${b.database}: not computed for ${size(Math.max(live, b.size))}; see safe-run diff ${b.runId ?? ''}`.trim();
  }
  try {
    return compactSummary(await diffBackup(b));
  } catch (err) {
    return `${b.database}: could not compare (${(err as Error).message.split('\n')[0]})`;
  }
}
