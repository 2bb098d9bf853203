// Durable file primitives: fsync, private directories, and temp → fsync → rename publication.
import { randomBytes } from 'node:crypto';
import { promises as fs, constants as fsc } from 'node:fs';
import path from 'node:path';

/** Files safe-run writes are readable by the owner only; so are its directories. */
export const FILE_MODE = 0o600;
export const DIR_MODE = 0o700;

/**
 * The prefix of every temporary file safe-run creates. It carries the owner's pid so that a later
 * run can tell what a killed process left behind (`isLeftoverOf`) from what a live one is writing.
 */
export function tempName(finalName: string): string {
  return `.${finalName}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`;
}

/** The pid that owns a temp file named by `tempName`, or undefined for any other name. */
export function tempOwner(fileName: string): number | undefined {
  const m = /\.tmp-(\d+)-[0-9a-f]{8}(?:-wal|-shm|-journal)?$/.exec(fileName);
  return m ? Number(m[1]) : undefined;
}

export async function fsyncPath(p: string): Promise<void> {
  const fh = await fs.open(p, fsc.O_RDONLY);
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** fsync a directory so that a rename or unlink inside it survives a power cut. */
export async function fsyncDir(dir: string): Promise<void> {
  try {
    await fsyncPath(dir);
  } catch (err) {
    // Some file systems refuse to fsync a directory; the rename is still atomic there.
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'EINVAL' && code !== 'EISDIR' && code !== 'EBADF') throw err;
  }
}

/**
 * Create a directory and its missing parents, each 0700. A directory that already exists is used as it
 * is, whatever its mode: it may be shared (a 1777 scratch directory, the project itself) or reached
 * through a symlink committed to a repository, and its mode is its owner's business. What safe-run
 * writes inside stays private because every directory it creates is 0700 and every file 0600.
 */
export async function ensurePrivateDir(dir: string): Promise<void> {
  try {
    // One level at a time: a recursive mkdir reports ENOENT instead of EROFS on a read-only mount.
    await fs.mkdir(dir, { mode: DIR_MODE });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' && path.dirname(dir) !== dir) {
      await ensurePrivateDir(path.dirname(dir));
      await fs.mkdir(dir, { mode: DIR_MODE }).catch((e: NodeJS.ErrnoException) => {
        if (e.code !== 'EEXIST') throw e;
      });
    } else if (code !== 'EEXIST' || !(await fs.stat(dir)).isDirectory()) throw err;
  }
}

/**
 * Write a whole file atomically: a uniquely named temp file in the same directory, fsync, rename,
 * fsync the directory. Readers see the old content or the new, never a mix; two writers never share
 * a temp file (unlike steno, which lowdb uses, with one fixed temp name per target). `durable: false`
 * skips the fsyncs, for notes that may be lost in a power cut (who holds a lock).
 */
export async function writeFileAtomic(file: string, data: string | Uint8Array, opts: { durable?: boolean } = {}): Promise<void> {
  const durable = opts.durable ?? true;
  const dir = path.dirname(file);
  const tmp = path.join(dir, tempName(path.basename(file)));
  const fh = await fs.open(tmp, fsc.O_WRONLY | fsc.O_CREAT | fsc.O_EXCL, FILE_MODE);
  try {
    try {
      await fh.writeFile(data);
      await fh.chmod(FILE_MODE); // the umask may have narrowed it further; never wider
      if (durable) await fh.sync();
    } finally {
      await fh.close();
    }
    await fs.rename(tmp, file);
  } catch (err) {
    await fs.rm(tmp, { force: true });
    throw err;
  }
  if (durable) await fsyncDir(dir);
}

/** Whether a process with this pid exists on this host (a zombie counts as gone). */
export function processIsAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  return true;
}
