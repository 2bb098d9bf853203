// The `dump` strategy: pg_dump --format=custom of one consistent snapshot, works while others write.
// Compression, measured by bench/postgres.js on this machine (PostgreSQL 15, 2 shared cores, a 1 GB
// database of md5/random text, same run): `-Fc` (gzip -6) 47.3 s / 364 MB, `-Z1` 22.7 s / 372 MB,
// `-Z0` 9.5 s / 672 MB, `-Z0 | zstd -1 -T2` 9.3 s / 319 MB, `-Z0 | zstd -3 -T2` 17.0 s / 337 MB.
// So: -Z0 piped through zstd -1 when zstd is installed (as fast as no compression, the smallest file),
// else -Z1 (pg_dump 15 has no zstd of its own; 16 has).
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { access, open, rm, stat } from 'node:fs/promises';
import { SafeRunError } from '../../errors.js';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { connectPg, safeRunAppName, serverVersionNum } from './connect.js';
import { readDatabaseProps, type DatabaseProps } from './database-props.js';
import { pgFailure } from './errors.js';
import { withToolEnv } from './passfile.js';
import { countRows, type TableCount } from './row-counts.js';
import { assertToolFits, hasZstd, startTool, type ToolOptions } from './tools.js';
import { locationOf, type PgTarget } from './url.js';

/** How the dump file is compressed: by zstd outside pg_dump, or by pg_dump's own gzip at a level. */
export type DumpCompression = 'zstd' | 'gzip' | 'none';

/** A dump written to disk, with the facts to verify and restore it. */
export interface DumpBackup {
  strategy: 'dump';
  file: string;
  compression: DumpCompression;
  /** sha256 (hex) of the file's bytes, computed while it was written. */
  sha256: string;
  size: number;
  /** Row counts taken in the very snapshot pg_dump read. */
  tables: TableCount[];
  /** Owner, grants, settings and comment of the database itself (pg_restore without --create skips them). */
  databaseProps?: DatabaseProps;
  /** The server's server_version_num when dumped. */
  serverVersion: number;
  durationMs: number;
}

export interface DumpOptions extends ToolOptions {
  /** Default: 'zstd' when installed, else 'gzip' (level 1). */
  compression?: DumpCompression;
}

/**
 * Dump `target`'s database to `dest` (a path that does not exist yet). A REPEATABLE READ transaction
 * exports its snapshot; pg_dump reads exactly that snapshot (--snapshot) while the same transaction counts
 * every table, so the counts describe the dump even while others commit. The file is hashed as it is
 * written and fsynced. On failure `dest` is removed and the error says why (tool missing or too old,
 * connection, disk full); the password never appears in argv, messages or files other than the passfile.
 */
export async function dumpDatabase(target: PgTarget, dest: string, opts: DumpOptions = {}): Promise<DumpBackup> {
  const started = Date.now();
  const location = locationOf(target);
  const ctx = { kind: 'backup' as const, stage: 'backup', database: location, secrets: [target.password], binDir: opts.binDir };
  // Never overwrite, and so never remove on failure, a file that was there before.
  if (await access(dest).then(() => true, () => false)) {
    throw new SafeRunError('backup', `cannot dump to ${dest}: the file already exists`, { stage: 'backup', database: location, hint: 'choose a new path for each backup' });
  }
  const compression = opts.compression ?? ((await hasZstd()) ? 'zstd' : 'gzip');
  const session = await connectPg(target, { kind: 'backup', stage: 'backup' });
  try {
    const serverVersion = await serverVersionNum(session);
    await assertToolFits('pg_dump', serverVersion, ctx);
    await session.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    const snapshot = (await session.query<{ s: string }>('SELECT pg_export_snapshot() AS s')).rows[0]!.s;
    const databaseProps = await readDatabaseProps(session, target.database);
    // pg_dump imports the snapshot as it starts; count meanwhile in the exporting transaction.
    const written = withToolEnv(target, safeRunAppName(), (env) => writeDump(dest, snapshot, compression, env, ctx));
    const counting = countRows(session);
    const [{ sha256, size }, tables] = await Promise.all([written, counting]);
    await session.query('COMMIT');
    return { strategy: 'dump', file: dest, compression, sha256, size, tables, databaseProps, serverVersion, durationMs: Date.now() - started };
  } catch (err) {
    await rm(dest, { force: true }).catch(() => {});
    throw pgFailure(err, ctx, 'dump failed');
  } finally {
    await session.end().catch(() => {});
  }
}

async function writeDump(dest: string, snapshot: string, compression: DumpCompression, env: NodeJS.ProcessEnv, ctx: { kind: 'backup'; stage: string; database: string; binDir?: string }): Promise<{ sha256: string; size: number }> {
  const level = compression === 'gzip' ? '1' : '0';
  // -w: never prompt for a password (a prompt would hang a non-interactive run).
  const args = ['--format=custom', `--compress=${level}`, `--snapshot=${snapshot}`, '--no-password'];
  const dump = startTool('pg_dump', args, env, { ...ctx, stdio: ['ignore', 'pipe', 'pipe'] });
  const tools = [dump];
  let source = dump.child.stdout!;
  if (compression === 'zstd') {
    const zstd = startTool('zstd', ['-1', '-T2', '-q', '-c'], env, { ...ctx, stdio: [dump.child.stdout!, 'pipe', 'pipe'] });
    tools.push(zstd);
    // zstd has its own copy of the pipe; ours would keep pg_dump's 'close' from ever firing.
    dump.child.stdout!.destroy();
    source = zstd.child.stdout!;
  }
  const hash = createHash('sha256');
  let size = 0;
  const tap = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      hash.update(chunk);
      size += chunk.length;
      cb(null, chunk);
    },
  });
  const out = createWriteStream(dest, { flags: 'wx', mode: 0o600 });
  // On the first failure stop everything (a tool blocked on a full pipe would wait forever) and report
  // that first failure: the later ones (EPIPE, "killed by SIGTERM") are its consequences.
  let first: unknown;
  const settle = (p: Promise<unknown>) =>
    p.catch((err) => {
      if (first === undefined) first = err;
      for (const t of tools) t.child.kill('SIGTERM');
    });
  await Promise.all([...tools.map((t) => settle(t.done)), settle(pipeline(source, tap, out))]);
  if (first !== undefined) throw first;
  const fh = await open(dest, 'r+');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
  if ((await stat(dest)).size !== size) throw new Error(`dump file ${dest} has a different size than written`);
  return { sha256: hash.digest('hex'), size };
}
