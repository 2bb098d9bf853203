// Take one verified backup: snapshot → fsync → sha256 and integrity check side by side → publish.
import { accessSync, constants, promises as fs, statSync } from 'node:fs';
import path from 'node:path';
import type { CheckLevel } from '../config.js';
import type { BackupTarget, Engine } from '../engines/engine.js';
import { compressFile, SUFFIX, type Compression } from '../files/compression.js';
import { fsyncPath } from '../files/durable.js';
import { CheckFailedError, EngineError } from '../engines/engine-errors.js';
import type { EventSink } from './events.js';
import { describeCause, errnoOf, SafeRunError } from '../errors.js';
import { sha256File } from '../files/sha256.js';
import type { BackupStore } from '../store/backup-store.js';
import type { Backup, BackupFile, BackupKind } from '../store/manifest.js';
import { VERSION } from '../version.js';
import { PageHashesAsCopied, sharePagesFrom, storeAsPages } from '../store/page-store/store-pages.js';

export interface BackupRequest {
  kind: BackupKind;
  reason?: string;
  runId?: string;
  check: CheckLevel;
  /** Store the files compressed, once verified (only for engines with `capabilities.compressFiles`). */
  compress?: Compression | false;
  /** How long to wait for a writer that holds the database (--wait), in ms. */
  waitMs?: number;
  /** Called once when the snapshot waits for such a writer. */
  onBusy?: (waitMs: number) => void;
}

/**
 * A backup that counts: the snapshot's sha256 is of exactly the bytes fsynced to the store (read back,
 * or taken by the engine as it copied them) and the integrity check passed on those bytes (the copy opened
 * read-only, or a read snapshot the engine proved identical to it). On any failure the partial files are removed and a
 * SafeRunError('backup') says what went wrong and what to try.
 */
export async function takeVerifiedBackup(engine: Engine, store: BackupStore, req: BackupRequest): Promise<Backup> {
  const started = Date.now();
  if (!(await engine.exists())) throw missingDatabaseError(engine);
  let pending;
  try {
    pending = await store.reserve(engine.name);
  } catch (err) {
    throw backupError(engine, err, 'store', store.root);
  }
  try {
    // Earlier backups to share pages with (uncompressed, an engine whose file is pages): then only the
    // new pages are kept, so the full copy need not be fsynced, and its pages are hashed as it is copied.
    const dbDir = store.databaseDir(engine.name);
    const bases = !req.compress && engine.capabilities.pagedFiles && pageStoreEnabled() ? await sharePagesFrom(dbDir, engine.location).catch(() => []) : [];
    const asCopied = bases.length > 0 ? await PageHashesAsCopied.make() : undefined;
    const pageOpts = asCopied ? { onChunk: asCopied.onChunk, durable: false } : {};
    const output = await engine.snapshot(pending.target, { waitMs: req.waitMs, onBusy: req.onBusy, check: req.check, ...pageOpts }).catch((err) => {
      // The engine may check as it copies: a failed check is a failed verification, not a failed copy.
      throw backupError(engine, err, err instanceof CheckFailedError ? 'verify' : 'snapshot', store.root);
    });
    const paths = output.files.map((name) => pending.target.file(name));
    const verified = output.verified?.hashes.length === output.files.length ? output.verified : undefined;
    // What the engine hashed as it wrote and checked is not read again; otherwise the hashes (main
    // thread) and the engine's check (its own threads or server) side by side.
    const [files, facts] = verified
      ? [output.files.map((name, i) => ({ name, ...verified.hashes[i]! })), verified.facts]
      : await Promise.all([
          Promise.all(output.files.map(async (name, i) => ({ name, sha256: await sha256File(paths[i]!), size: (await fs.stat(paths[i]!)).size }))),
          engine.verify({ files: paths, serverCopy: output.serverCopy }, req.check).catch((err) => {
            throw backupError(engine, err, 'verify', store.root);
          }),
        ]);
    const stored = req.compress && engine.capabilities.compressFiles ? await compressAll(files, pending.target, req.compress).catch((err) => {
      throw backupError(engine, err, 'compress', store.root);
    }) : files;
    const paged =
      asCopied && files.length === 1 && !output.serverCopy
        ? await storeAsPages({ dbDir, bases, snapshot: paths[0]!, index: asCopied.index(files[0]!.size, facts.pageSize ?? 0), file: (n) => pending.target.file(n) }).catch((err) => {
            throw backupError(engine, err, 'publish', store.root);
          })
        : undefined;
    // Kept whole after all (too many new pages): now it must be durable, like any full backup.
    if (asCopied && !paged) for (const p of paths) await fsyncPath(p);
    return await pending.publish({
      database: engine.name,
      engine: engine.kind,
      source: engine.location,
      kind: req.kind,
      reason: req.reason,
      runId: req.runId,
      createdAt: new Date(started).toISOString(),
      durationMs: Date.now() - started,
      ...(paged ? { files: paged.files, identity: { size: files[0]!.size, sha256: files[0]!.sha256 }, pages: paged.pages } : { files: stored }),
      ...(output.serverCopy ? { serverCopy: output.serverCopy } : {}),
      facts,
      safeRunVersion: VERSION,
    });
  } catch (err) {
    await pending.abort().catch(() => undefined);
    throw err instanceof SafeRunError ? err : backupError(engine, err, 'publish', store.root);
  }
}

/**
 * Repeat backups of SQLite are stored as shared pages unless SAFE_RUN_PAGE_STORE=0 (a way back to one
 * full file per backup, should the page store ever need to be set aside; reading page backups always works).
 */
function pageStoreEnabled(): boolean {
  return process.env.SAFE_RUN_PAGE_STORE !== '0';
}

/**
 * Replace each verified file by its compressed form. The check ran on the file as written; the stored
 * bytes' sha256 is taken from the compressed file read back after fsync, the content's is kept to check
 * each decompression against.
 */
async function compressAll(files: BackupFile[], target: BackupTarget, how: Compression): Promise<BackupFile[]> {
  const out: BackupFile[] = [];
  for (const f of files) {
    const name = f.name + SUFFIX[how];
    await compressFile(target.file(f.name), target.file(name), how);
    await fsyncPath(target.file(name));
    out.push({ name, sha256: await sha256File(target.file(name)), size: (await fs.stat(target.file(name))).size, compression: how, content: { size: f.size, sha256: f.sha256 } });
    await fs.rm(target.file(f.name));
  }
  return out;
}

/**
 * Back up each database in turn, reporting each step as events (a writer holding one is waited for up
 * to `req.waitMs`). Every backup is pushed to `taken` as soon as it is published, so that on failure the
 * caller knows what was already made.
 */
export async function takeVerifiedBackups(
  engines: Engine[],
  store: BackupStore,
  req: Omit<BackupRequest, 'onBusy'>,
  emit: EventSink,
  taken: Backup[] = [],
): Promise<Backup[]> {
  for (const engine of engines) {
    const t0 = Date.now();
    emit({ type: 'backup-start', database: engine.name, location: engine.location, size: await engine.size(), kind: req.kind });
    const backup = await takeVerifiedBackup(engine, store, {
      ...req,
      onBusy: (waitMs) => emit({ type: 'busy-wait', database: engine.name, waitMs }),
    });
    taken.push(backup);
    emit({ type: 'backup-done', database: engine.name, backup, ms: Date.now() - t0 });
  }
  return taken;
}

export function missingDatabaseError(engine: Engine): SafeRunError {
  // A directory is "not a file" to exists(); say what it is, and what to give instead.
  if (statSync(engine.location, { throwIfNoEntry: false })?.isDirectory()) {
    return new SafeRunError('backup', `cannot back up ${engine.name} (${engine.location}): it is a directory, not a database file`, {
      stage: 'backup',
      database: engine.name,
      hint: 'give the path of the SQLite file itself, e.g. data/app.db',
    });
  }
  return new SafeRunError('backup', `cannot back up ${engine.name} (${engine.location}): no such ${engine.missing.what}`, {
    stage: 'backup',
    database: engine.name,
    hint: engine.missing.hint,
  });
}

/**
 * Why the store cannot be written, as an errno (EACCES, EROFS…), when a write into it failed without one:
 * SQLite says only "unable to open the database file" when it cannot create the writer's lock there.
 */
function storeWriteProblem(storeRoot: string, database: string): string | undefined {
  for (const dir of [path.join(storeRoot, database), storeRoot]) {
    try {
      accessSync(dir, constants.W_OK);
      return undefined;
    } catch (err) {
      const code = errnoOf(err);
      if (code !== 'ENOENT') return code;
    }
  }
  return undefined;
}

function backupError(engine: Engine, err: unknown, step: string, storeRoot: string): SafeRunError {
  if (err instanceof SafeRunError) return err;
  let why = describeCause(err);
  const failure = err instanceof EngineError ? err.failure : undefined;
  let code = errnoOf(err);
  if (code === undefined && (step === 'store' || step === 'publish')) {
    const problem = storeWriteProblem(storeRoot, engine.name);
    if (problem) {
      code = problem;
      why = describeCause({ code: problem });
    }
  }
  let hint: string;
  if (code === 'ENOSPC' || code === 'EDQUOT' || (failure === 'no-space' && step !== 'snapshot')) {
    hint = `free space where backups go (${storeRoot}), or set "backupDir" to a disk with room`;
  } else if ((code === 'EACCES' || code === 'EPERM' || code === 'EROFS' || (code === 'ENOENT' && step === 'store')) && step !== 'snapshot') {
    hint = `make ${storeRoot} writable, or set "backupDir" in the config`;
  } else if (code === 'EACCES' || code === 'EPERM') {
    hint = `safe-run needs to read ${engine.location}; check its permissions`;
  } else if (err instanceof EngineError && err.hint) {
    hint = err.hint;
  } else if (step === 'verify') {
    hint = 'the database itself may be damaged: check it with its own tools before trusting it';
  } else if (code === 'SQLITE_BUSY') {
    hint = 'another process kept it locked for writing longer than safe-run waits (--wait); try again, or give --wait with more seconds';
  } else {
    hint = 'run again with --debug for details';
  }
  if (step === 'store' || step === 'publish' || step === 'compress') {
    const unwritable = code === 'ENOENT' || code === 'EROFS' || code === 'EACCES' || code === 'EPERM';
    return new SafeRunError('backup', `cannot write the backup of ${engine.name} to ${storeRoot}: ${unwritable && code === 'ENOENT' ? 'not writable' : why}`, {
      stage: 'backup',
      database: engine.name,
      hint,
      cause: err,
    });
  }
  const verb = step === 'verify' ? 'verify the backup of' : 'back up';
  return new SafeRunError('backup', `cannot ${verb} ${engine.name} (${engine.location}): ${why}`, {
    stage: step === 'verify' ? 'verify' : 'backup',
    database: engine.name,
    hint,
    cause: err,
  });
}
