// Zip the files of an export directory into one archive (yazl streams each file from disk).
import { createWriteStream } from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import yazl from 'yazl';

/** Write `names` (files in `dir`) to `zipFile`, which must not exist. Memory stays flat: files are streamed. */
export async function writeZip(dir: string, names: string[], zipFile: string): Promise<void> {
  const zip = new yazl.ZipFile();
  for (const name of names) zip.addFile(path.join(dir, name), name, { mode: 0o100644 });
  zip.end();
  await pipeline(zip.outputStream, createWriteStream(zipFile, { flags: 'wx', mode: 0o600 }));
}
