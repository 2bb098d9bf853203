// The path a restore writes to: the one the backup guarded, never redirected by a link made since.
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { EngineError } from './engine-errors.js';

/**
 * A directory on the way to the database is now a symbolic link. The recorded path was resolved when
 * the backup was taken, so the link was made after it: following it would write another database.
 */
export class LinkInPathError extends EngineError {
  readonly code = 'LINK_IN_PATH';
  constructor(
    readonly link: string,
    readonly pointsTo: string,
  ) {
    super('unsafe-target', `${link} is now a symbolic link (to ${pointsTo}); it was not one when the backup was taken, and a restore never writes through a link it did not back up`, {
      hint: `remove the link (rm ${link}) and run the same command again: safe-run creates the directory`,
    });
    this.name = 'LinkInPathError';
  }
}

/**
 * Make the directory of `file` ready for a restore: refuse when one of its directories is now a
 * symbolic link (LinkInPathError), and create the ones that are gone (a script that ran `rm -rf data`
 * is exactly what a rollback is for). The file itself is not looked at here: a link there is replaced
 * by the swap (see stageSqliteRestore), never followed.
 */
export async function prepareRestoreDir(file: string): Promise<void> {
  const dir = path.dirname(path.resolve(file));
  const parts = dir.split(path.sep).filter(Boolean);
  // One level at a time, each looked at without following it, so that no link is ever walked through.
  for (let i = 1; i <= parts.length; i++) {
    const at = path.sep + parts.slice(0, i).join(path.sep);
    let st = await fs.lstat(at).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return undefined;
      throw err;
    });
    if (!st) {
      await fs.mkdir(at).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'EEXIST') throw err;
      });
      st = await fs.lstat(at);
    }
    if (st.isSymbolicLink()) throw new LinkInPathError(at, await fs.readlink(at));
  }
}

/** Where a symbolic link now at `file` points (absolute, for messages), or undefined when there is none. */
export async function linkAt(file: string): Promise<string | undefined> {
  const st = await fs.lstat(file).catch(() => undefined);
  return st?.isSymbolicLink() ? path.resolve(path.dirname(file), await fs.readlink(file)) : undefined;
}
