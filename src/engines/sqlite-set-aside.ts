// Move a damaged SQLite database out of the way, into the store, with the files that belong with it.
// Nothing is deleted: a rename on the same file system, else a copy that is fsynced before the original
// goes. The -wal and -shm go with it: left behind, SQLite would replay them onto the restored file.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { ensurePrivateDir, fsyncDir, fsyncPath } from '../files/durable.js';
import { EngineError } from './engine-errors.js';
import { processesHolding } from './open-handles.js';

const WITH_IT = ['', '-wal', '-shm', '-journal'] as const;

export async function setSqliteAside(file: string, dir: string): Promise<string[]> {
  const { holders, complete } = await processesHolding(file);
  if (holders.length > 0 || !complete) {
    const who = holders.map((h) => `pid ${h.pid} (${h.command})`);
    throw new EngineError('held-open', `the database is open${who.length ? ` in ${who.join(', ')}` : ' (or it cannot be told)'}: moving it now would corrupt what they write`, {
      hint: 'stop the processes that use it, then run safe-run doctor again',
      involved: who,
    });
  }
  await ensurePrivateDir(dir);
  const moved: string[] = [];
  try {
    for (const suffix of WITH_IT) {
      const from = `${file}${suffix}`;
      if (!(await fs.lstat(from).catch(() => undefined))) continue;
      const to = path.join(dir, path.basename(from));
      try {
        await fs.rename(from, to);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EXDEV') throw err;
        try {
          await fs.copyFile(from, to);
          await fsyncPath(to);
        } catch (copyErr) {
          await fs.rm(to, { force: true }); // a partial copy; the original is still in place
          throw copyErr;
        }
        await fs.rm(from);
      }
      moved.push(to);
    }
    await fsyncDir(dir);
  } catch (err) {
    // Half moved is worse than either: the database without its -wal. Put back what went, then say why.
    await putSqliteBack(file, moved);
    await fs.rmdir(dir).catch(() => undefined);
    throw err;
  }
  await fsyncDir(path.dirname(file));
  return moved;
}

/** Put what setSqliteAside moved back where it was (after a restore that failed). */
export async function putSqliteBack(file: string, moved: string[]): Promise<void> {
  for (const from of moved) {
    const to = path.join(path.dirname(file), path.basename(from));
    await fs.rename(from, to).catch(async (err: NodeJS.ErrnoException) => {
      if (err.code !== 'EXDEV') throw err;
      await fs.copyFile(from, to);
      await fs.rm(from);
    });
  }
  await fsyncDir(path.dirname(file));
}
