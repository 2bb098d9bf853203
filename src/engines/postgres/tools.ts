// Run the server's own tools (pg_dump, pg_restore, psql) and zstd as children, with their failures
// mapped to one-line errors; and check a tool is not older than the server before relying on it.
import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import { join } from 'node:path';
import { SafeRunError, type ErrorKind } from '../../errors.js';
import { pgFailure } from './errors.js';

/** Where to find the tools: `binDir` (e.g. /usr/lib/postgresql/15/bin) or PATH when undefined. */
export interface ToolOptions {
  binDir?: string;
}

export type ToolName = 'pg_dump' | 'pg_restore' | 'psql' | 'zstd';

/** A started tool: the child, and a promise that settles when it exits (rejecting on failure). */
export interface RunningTool {
  child: ChildProcess;
  done: Promise<void>;
}

/**
 * Start `tool` with `args` (never a password: see passfile.ts) and `env`. `done` resolves on exit code 0
 * and rejects with a SafeRunError of `kind`/`stage` otherwise, carrying the last lines of stderr; a
 * missing executable rejects with a hint to install the PostgreSQL client tools.
 */
export function startTool(tool: ToolName, args: string[], env: NodeJS.ProcessEnv, opts: ToolOptions & { stdio?: StdioOptions; kind: ErrorKind; stage: string; database?: string }): RunningTool {
  const exe = opts.binDir && tool !== 'zstd' ? join(opts.binDir, tool) : tool;
  const child = spawn(exe, args, { env, stdio: opts.stdio ?? ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (d: string) => {
    stderr = (stderr + d).slice(-8000);
  });
  const done = new Promise<void>((resolve, reject) => {
    child.once('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') reject(missingTool(tool, opts));
      else reject(pgFailure(err, opts, `${tool} failed to start`));
    });
    child.once('close', (code, signal) => {
      if (code === 0) return resolve();
      const text = stderr.trim() || (signal ? `killed by ${signal}` : `exit code ${code}`);
      reject(pgFailure(new Error(text), opts, `${tool} failed`));
    });
  });
  return { child, done };
}

/** Run a tool to completion, returning its stdout (for small outputs such as `--list` or `--version`). */
export async function runTool(tool: ToolName, args: string[], env: NodeJS.ProcessEnv, opts: ToolOptions & { kind: ErrorKind; stage: string; database?: string }): Promise<string> {
  const t = startTool(tool, args, env, { ...opts, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  t.child.stdout!.setEncoding('utf8');
  t.child.stdout!.on('data', (d: string) => (out += d));
  await t.done;
  return out;
}

/** The major version of a PostgreSQL tool, from `--version` ("pg_dump (PostgreSQL) 15.20 (Debian…)"). */
export async function toolMajorVersion(tool: ToolName, opts: ToolOptions & { kind: ErrorKind; stage: string }): Promise<number> {
  const out = await runTool(tool, ['--version'], process.env, opts);
  const m = /\)\s*(\d+)(?:\.(\d+))?/.exec(out);
  if (!m) throw new SafeRunError('internal', `cannot read the version of ${tool}: ${out.trim()}`, { stage: opts.stage });
  return Number(m[1]);
}

/**
 * Fail fast, before any work, when `tool` is older than the server (pg_dump refuses newer servers only
 * after connecting, and a restore of a newer dump fails half-way). `serverVersionNum` is the server's
 * `server_version_num` (e.g. 150020).
 */
export async function assertToolFits(tool: 'pg_dump' | 'pg_restore', serverVersionNum: number, opts: ToolOptions & { kind: ErrorKind; stage: string; database?: string }): Promise<void> {
  const toolMajor = await toolMajorVersion(tool, opts);
  const serverMajor = Math.floor(serverVersionNum / 10000);
  if (toolMajor < serverMajor) {
    throw new SafeRunError(opts.kind, `server version mismatch: ${tool} is version ${toolMajor}, the server is version ${serverMajor}`, {
      stage: opts.stage,
      database: opts.database,
      hint: `install the PostgreSQL ${serverMajor} client tools (e.g. postgresql-client-${serverMajor}) and put them first on PATH`,
    });
  }
}

/** Whether zstd can be run (the dump strategy compresses with it when present). */
export async function hasZstd(): Promise<boolean> {
  try {
    await runTool('zstd', ['--version'], process.env, { kind: 'internal', stage: 'probe' });
    return true;
  } catch {
    return false;
  }
}

function missingTool(tool: ToolName, opts: ToolOptions & { kind: ErrorKind; stage: string; database?: string }): SafeRunError {
  const where = opts.binDir ? ` in ${opts.binDir}` : ' on PATH';
  const hint =
    tool === 'zstd'
      ? 'install zstd (apt-get install zstd), or choose another compression'
      : 'install the PostgreSQL client tools of the server\'s version (e.g. apt-get install postgresql-client-15)';
  return new SafeRunError(opts.kind, `${tool} not found${where}`, { stage: opts.stage, database: opts.database, hint });
}
