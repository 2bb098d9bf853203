// Which processes hold a file open (Linux /proc), so a restore never renames a database someone is using.
import { promises as fs } from 'node:fs';

export interface Holder {
  pid: number;
  command: string;
}

/**
 * The processes that have `file` open. `complete` is false when some processes could not be inspected
 * (another user's, without root): then the answer may miss holders and callers must assume the worst.
 * Processes in other PID namespaces (other containers) are not visible here at all.
 */
export async function processesHolding(file: string): Promise<{ holders: Holder[]; complete: boolean }> {
  let target: { dev: number; ino: number };
  try {
    target = await fs.stat(file);
  } catch {
    return { holders: [], complete: true }; // nothing to hold
  }
  let entries: string[];
  try {
    entries = await fs.readdir('/proc');
  } catch {
    return { holders: [], complete: false }; // not Linux: cannot tell
  }
  const holders: Holder[] = [];
  let complete = true;
  await Promise.all(
    entries
      .filter((e) => /^\d+$/.test(e))
      .map(async (pidText) => {
        let fds: string[];
        try {
          fds = await fs.readdir(`/proc/${pidText}/fd`);
        } catch (err) {
          const code = (err as NodeJS.ErrnoException).code;
          if (code !== 'ENOENT' && code !== 'ESRCH') complete = false; // ENOENT: the process ended meanwhile
          return;
        }
        for (const fd of fds) {
          // The file itself (device and inode), not its path: a process in another mount namespace, or
          // one that opened it through a bind mount or a symlink, sees another path for the same file.
          const st = await fs.stat(`/proc/${pidText}/fd/${fd}`).catch(() => undefined);
          if (st && st.dev === target.dev && st.ino === target.ino) {
            const command = await fs
              .readFile(`/proc/${pidText}/cmdline`, 'utf8')
              .then((s) => s.split('\0').filter(Boolean).slice(0, 3).join(' '))
              .catch(() => '?');
            holders.push({ pid: Number(pidText), command });
            return;
          }
        }
      }),
  );
  return { holders: holders.sort((a, b) => a.pid - b.pid), complete };
}
