// Feed a dump file to pg_restore, through `zstd -dc` when it was compressed by zstd: the one way a dump is
// read, whether to list it, read it through, or load it into a database.
import { createReadStream } from 'node:fs';
import { createHash } from 'node:crypto';
import type { ErrorKind } from '../../errors.js';
import type { DumpCompression } from './dump.js';
import { startTool, type RunningTool, type ToolOptions } from './tools.js';

/** The dump facts pg_restore needs. */
export interface DumpFile {
  file: string;
  compression: DumpCompression;
}

/**
 * Run pg_restore with `args` over `dump` and resolve to its stdout (empty unless `args` print, e.g.
 * --list). A zstd dump is decompressed into pg_restore's stdin; a plain one is given as the file
 * argument. Rejects with a SafeRunError of `kind`/`stage` when either tool fails.
 */
export async function runPgRestore(dump: DumpFile, args: string[], env: NodeJS.ProcessEnv, ctx: ToolOptions & { kind: ErrorKind; stage: string; database?: string }): Promise<string> {
  const tools: RunningTool[] = [];
  let restore: RunningTool;
  if (dump.compression === 'zstd') {
    const zstd = startTool('zstd', ['-dc', '-q', dump.file], env, { ...ctx, stdio: ['ignore', 'pipe', 'pipe'] });
    restore = startTool('pg_restore', args, env, { ...ctx, stdio: [zstd.child.stdout!, 'pipe', 'pipe'] });
    // pg_restore holds its own copy of the pipe; ours would keep zstd's 'close' from firing.
    zstd.child.stdout!.destroy();
    tools.push(zstd, restore);
  } else {
    restore = startTool('pg_restore', [...args, dump.file], env, { ...ctx, stdio: ['ignore', 'pipe', 'pipe'] });
    tools.push(restore);
  }
  // pg_restore --list stops reading after the table of contents: zstd then dies of SIGPIPE, which is
  // no failure as long as pg_restore itself succeeded.
  let decompressorPiped = false;
  tools[0]!.child.once('exit', (_code, signal) => (decompressorPiped = signal === 'SIGPIPE' && tools.length === 2));
  let out = '';
  restore.child.stdout!.setEncoding('utf8');
  restore.child.stdout!.on('data', (d: string) => (out += d));
  let first: unknown;
  let restoreFailed = false;
  await Promise.all(
    tools.map((t) =>
      t.done.catch((err) => {
        if (t === restore) restoreFailed = true;
        else if (decompressorPiped) return;
        if (first === undefined) first = err;
        for (const o of tools) o.child.kill('SIGTERM');
      }),
    ),
  );
  if (first !== undefined && !(decompressorPiped && !restoreFailed)) throw first;
  return out;
}

/** sha256 (hex) of a file, streamed. */
export async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}
