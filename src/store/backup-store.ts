// The backup store: its layout on disk, atomic publication, listing, and clean-up of what crashes left.
//
// Layout (private to this file): <root>/<database>/<backup-id>/{manifest.json, snapshot.<ext>}.
// A backup is built complete in a hidden temp directory `.<id>.tmp-<pid>-<rand>` beside its final
// place, fsynced, then the directory is renamed into place: one atomic step, so a listing never shows
// a partial backup. While it is written, its writer holds a kernel lock on `<temp dir>.lock`: whatever
// a killed process left is recognisable as a temp directory whose lock nobody holds, also when the
// writer lives in another PID namespace (a container sharing the store), where its pid means nothing.
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { ensurePrivateDir, fsyncDir, tempName, tempOwner, writeFileAtomic } from '../files/durable.js';
import { newId } from '../ids.js';
import type { BackupTarget } from '../engines/engine.js';
import { acquireLock, isLockHeld } from '../lock/file-lock.js';
import { MANIFEST, type Backup, type BackupFile, type BackupManifest } from './manifest.js';
import { inventory, type StoreInventory } from './store-inventory.js';
import { VERIFIED_FILE } from './verification-record.js';
import { removePageLeftovers, rescuePages } from './page-store/rescue-pages.js';

/** What the caller says of a backup; the store adds its id and format, and the files' names and hashes. */
export type ManifestFields = Omit<BackupManifest, 'file' | 'id' | 'format' | 'size' | 'sha256' | 'files'> & {
  /** Every file the engine wrote, the main one first (names as given to `target.file`). */
  files: BackupFile[];
  /** A page backup's whole file (its identity), when `files` are its pages. */
  identity?: { size: number; sha256: string };
};

/** A backup being written: the engine writes into `target`, then `publish` makes it a backup. */
export interface PendingBackup {
  readonly id: string;
  /** Where the engine writes the backup's files: a private directory not listed until published. */
  readonly target: BackupTarget;
  /** `seal` then `commit`: the backup is complete and listed. */
  publish(manifest: ManifestFields): Promise<Backup>;
  /**
   * Write the manifest beside the snapshot without listing the backup yet. A sealed backup whose
   * process died is published by the next run's clean-up (it was complete), unless its snapshot is
   * still the live database's own file (see removeLeftovers).
   */
  seal(manifest: ManifestFields): Promise<void>;
  /** List a sealed backup: one rename of its directory. */
  commit(): Promise<Backup>;
  /** Remove everything written so far. Safe to call after publish (then it does nothing). */
  abort(): Promise<void>;
}

export class BackupStore {
  constructor(readonly root: string) {}

  /** Create the root (0700 when safe-run creates it; an existing directory keeps its mode). */
  async prepare(): Promise<void> {
    await ensurePrivateDir(this.root);
  }

  /**
   * The directory that holds the backups of `database` (and what belongs beside them: its shared pages,
   * doctor's forensic copies). Callers outside the store take it from here, never join it themselves.
   */
  databaseDir(database: string): string {
    return path.join(this.root, database);
  }

  async reserve(database: string): Promise<PendingBackup> {
    const dbDir = this.databaseDir(database);
    await ensurePrivateDir(this.root);
    await ensurePrivateDir(dbDir);
    const existing = new Set(await fs.readdir(dbDir).catch(() => [] as string[]));
    const id = newId((candidate) => existing.has(candidate));
    const tmpDir = path.join(dbDir, tempName(id));
    // The lock first, the directory second; removed in the other order: a temp directory without a
    // held lock is always abandoned.
    const writerLock = await acquireLock(`${tmpDir}.lock`, { purpose: 'backup being written', waitMs: 0, note: false });
    const dropWriterLock = async () => {
      await fs.rm(writerLock.file, { force: true }).catch(() => undefined);
      await writerLock.release();
    };
    try {
      await fs.mkdir(tmpDir, { mode: 0o700 });
      await fs.chmod(tmpDir, 0o700);
    } catch (err) {
      await dropWriterLock();
      throw err;
    }
    const finalDir = path.join(dbDir, id);
    let published = false;
    let sealed: BackupManifest | undefined;
    const abort = async () => {
      if (!published) await fs.rm(tmpDir, { recursive: true, force: true });
      await dropWriterLock();
    };
    const seal = async ({ files, identity, ...fields }: ManifestFields) => {
      const main = files[0];
      if (!main) throw new Error('a backup needs at least one file');
      const { size, sha256 } = identity ?? main;
      sealed = { format: 1, id, file: main.name, size, sha256, ...(files.length > 1 || files.some((f) => f.compression) ? { files } : {}), ...fields };
      await writeFileAtomic(path.join(tmpDir, MANIFEST), JSON.stringify(sealed, null, 2) + '\n');
      await fsyncDir(tmpDir);
    };
    const commit = async (): Promise<Backup> => {
      if (!sealed) throw new Error('commit before seal');
      await fs.rename(tmpDir, finalDir);
      published = true;
      await dropWriterLock();
      await fsyncDir(dbDir);
      return { ...sealed, path: path.join(finalDir, sealed.file) };
    };
    const target: BackupTarget = {
      id,
      file: (name: string) => {
        if (name === MANIFEST || name === VERIFIED_FILE || name !== path.basename(name) || name.startsWith('.')) throw new Error(`not a backup file name: ${name}`);
        return path.join(tmpDir, name);
      },
    };
    return {
      id,
      target,
      abort,
      seal,
      commit,
      publish: async (fields) => {
        await seal(fields);
        return commit();
      },
    };
  }

  /** Every complete backup, oldest first. Unreadable manifests are skipped, not fatal. */
  async list(): Promise<Backup[]> {
    const backups: Backup[] = [];
    const databases = await fs.readdir(this.root, { withFileTypes: true }).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return [];
      throw err;
    });
    for (const dbEntry of databases) {
      if (!dbEntry.isDirectory() || dbEntry.name.startsWith('.')) continue;
      const dbDir = this.databaseDir(dbEntry.name);
      for (const id of await fs.readdir(dbDir).catch(() => [] as string[])) {
        if (id.startsWith('.')) continue;
        const backup = await this.read(path.join(dbDir, id));
        if (backup) backups.push(backup);
      }
    }
    return backups.sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.id.localeCompare(b.id));
  }

  /** Everything in the store, also what `list` skips: damaged manifests and orphan files (for verify). */
  async inventory(): Promise<StoreInventory> {
    return inventory(this.root);
  }

  private async read(dir: string): Promise<Backup | undefined> {
    try {
      const manifest = JSON.parse(await fs.readFile(path.join(dir, MANIFEST), 'utf8')) as BackupManifest;
      if (manifest.format !== 1 || typeof manifest.id !== 'string') return undefined;
      return { ...manifest, path: path.join(dir, manifest.file) };
    } catch {
      return undefined;
    }
  }

  /**
   * Delete a backup whole. Its directory first leaves the listing in one rename (to a name the next
   * run's clean-up deletes once this process is gone: never published again, unlike a sealed temp
   * dir), then `beforeDelete` runs (dropping a server copy); if that fails, the directory is renamed
   * back, whole, and the error is thrown. Then the files go. Before all that, the pages of this backup
   * that other backups still use are copied into one of them (it must be called with the database's
   * lock held, as prune does). Resolves with the bytes so moved (still in the store, not freed). A kill at any point leaves the backup
   * listed and whole, or out of the listing for good. `fs.rm` removes a symbolic link found among the
   * files, never what it points at.
   */
  async remove(backup: Backup, beforeDelete?: () => Promise<void>): Promise<{ movedBytes: number }> {
    const dir = path.dirname(backup.path);
    const dbDir = path.dirname(dir);
    // Pages that later backups share from this one move into one of them first (page-store/rescue-pages).
    await removePageLeftovers(dbDir);
    const movedBytes = await rescuePages(dir, backup);
    const doomed = path.join(dbDir, doomedName(path.basename(dir)));
    await fs.rename(dir, doomed);
    await fsyncDir(dbDir);
    try {
      await beforeDelete?.();
    } catch (err) {
      await fs.rename(doomed, dir);
      await fsyncDir(dbDir);
      throw err;
    }
    await fs.rm(doomed, { recursive: true, force: true });
    return { movedBytes };
  }

  /**
   * Directories in the store that look like backups but whose manifest does not read (damaged, edited,
   * not JSON). `list` skips them; retention refuses to decide around them.
   */
  async unreadable(): Promise<string[]> {
    const bad: string[] = [];
    const databases = await fs.readdir(this.root, { withFileTypes: true }).catch(() => []);
    for (const dbEntry of databases) {
      if (!dbEntry.isDirectory() || dbEntry.name.startsWith('.')) continue;
      const dbDir = this.databaseDir(dbEntry.name);
      for (const id of await fs.readdir(dbDir).catch(() => [] as string[])) {
        if (!id.startsWith('.') && !(await this.read(path.join(dbDir, id)))) bad.push(path.join(dbDir, id));
      }
    }
    return bad;
  }

  /**
   * Deal with the temp directories of `databases` whose writer is gone (its lock is free): a sealed one
   * (its manifest was written, so it was complete) is published, unless its snapshot is still the very
   * file of the live database (a restore killed before its swap: that "backup" would change as the
   * database does); everything else is removed. Called with those databases' locks held, so nothing
   * of ours is being written for them meanwhile, and only for them: another database's backup in
   * progress is never touched.
   */
  async removeLeftovers(databases: string[]): Promise<void> {
    for (const database of databases) {
      const dbDir = this.databaseDir(database);
      const names = new Set(await fs.readdir(dbDir).catch(() => [] as string[]));
      for (const name of names) {
        // A backup being pruned (renamed out of the listing first): its pruner held this database's
        // lock, which we hold now, so it is gone; what is left of the backup goes.
        if (isDoomed(name)) {
          await fs.rm(path.join(dbDir, name), { recursive: true, force: true }).catch(() => undefined);
          continue;
        }
        const lockOf = /^(.*)\.lock$/.exec(name)?.[1];
        if (lockOf !== undefined && tempOwner(lockOf) !== undefined && !names.has(lockOf)) {
          // A writer killed between publishing and removing its lock: only the lock file is left.
          if (isLockHeld(path.join(dbDir, name)) === false) await fs.rm(path.join(dbDir, name), { force: true });
          continue;
        }
        if (tempOwner(name) === undefined) continue;
        const lockFile = path.join(dbDir, `${name}.lock`);
        if (isLockHeld(lockFile) === true) continue; // its writer is alive, wherever it runs
        const dir = path.join(dbDir, name);
        const sealed = await this.read(dir);
        if (sealed && (await isOwnFile(sealed))) {
          // A complete backup (perhaps the only copy of a database as it was before a restore): if it
          // cannot be listed now, it stays where it is for the next run, never deleted.
          await fs.rename(dir, path.join(dbDir, sealed.id)).catch(() => undefined);
        } else {
          await fs.rm(dir, { recursive: true, force: true }).catch(() => undefined);
        }
        await fs.rm(lockFile, { force: true }).catch(() => undefined);
      }
    }
  }
}

/**
 * A private scratch directory beside a stored backup (decompressing it to check, diff or export), held
 * by a writer lock like a backup being written, so that no clean-up removes it while it is in use; a
 * killed process's scratch is removed by the next clean-up of that database. `remove` is safe twice.
 */
export async function scratchBeside(backup: Backup): Promise<{ file(name: string): string; remove(): Promise<void> }> {
  const root = path.dirname(path.dirname(path.dirname(backup.path)));
  const pending = await new BackupStore(root).reserve(backup.database);
  return { file: (name) => pending.target.file(name), remove: () => pending.abort() };
}

/** A backup being removed: `.<id>.doomed-<pid>-<rand>`, hidden from the listing like a temp dir. */
function doomedName(id: string): string {
  return `.${id}.doomed-${process.pid}-${randomBytes(4).toString('hex')}`;
}

function isDoomed(name: string): boolean {
  return /^\..*\.doomed-\d+-[0-9a-f]{8}$/.test(name);
}

/** The backup's file exists and is not the same file (inode) as the database it came from. */
async function isOwnFile(b: Backup): Promise<boolean> {
  const mine = await fs.stat(b.path).catch(() => undefined);
  if (!mine) return false;
  const live = await fs.stat(b.source).catch(() => undefined);
  return !live || live.dev !== mine.dev || live.ino !== mine.ino;
}
