// Write a small JSON file that only its owner may read (0600), new (never over another) and fsynced:
// the facts files engines put beside a backup.
import { promises as fs } from 'node:fs';

export async function writePrivateJson(file: string, value: unknown): Promise<void> {
  await fs.writeFile(file, JSON.stringify(value, null, 2) + '\n', { mode: 0o600, flag: 'wx' });
  const fh = await fs.open(file, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}
