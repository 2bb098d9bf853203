// A stored backup as its engine can open it: compressed files decompressed, page backups reassembled,
// into a scratch directory.
import path from 'node:path';
import type { StoredSnapshot } from '../engines/engine.js';
import { checksumMismatch } from '../engines/engine-errors.js';
import { decompressFile, SUFFIX } from '../files/compression.js';
import { sha256File } from '../files/sha256.js';
import { scratchBeside } from '../store/backup-store.js';
import { storedSnapshot, type Backup } from '../store/manifest.js';

/**
 * Call `use` with the backup's snapshot, every compressed file decompressed beside it in the store (a
 * scratch directory removed afterwards). The stored bytes must match their sha256 and the decompressed
 * ones the content's: rejects with the engine-neutral checksum error otherwise. An uncompressed backup
 * is handed over as it is, at no cost.
 */
export async function withPlainSnapshot<T>(backup: Backup, use: (snapshot: StoredSnapshot) => Promise<T>): Promise<T> {
  const snapshot = storedSnapshot(backup);
  if (!snapshot.files.some((f) => f.compression || f.assemble)) return use(snapshot);
  const scratch = await scratchBeside(backup);
  try {
    const files: StoredSnapshot['files'] = [];
    for (const f of snapshot.files) {
      if (f.assemble) {
        // A page backup: made whole again from its pages, checked against its whole-file sha256.
        const plain = scratch.file('snapshot.sqlite');
        const made = await f.assemble(plain);
        files.push({ path: plain, sha256: made.sha256, size: made.size });
        continue;
      }
      if (!f.compression || !f.content) {
        files.push(f);
        continue;
      }
      const stored = await sha256File(f.path);
      if (stored !== f.sha256) throw checksumMismatch(f.sha256, stored);
      const plain = scratch.file(path.basename(f.path, SUFFIX[f.compression]));
      await decompressFile(f.path, plain, f.compression);
      const content = await sha256File(plain);
      if (content !== f.content.sha256) throw checksumMismatch(f.content.sha256, content);
      files.push({ path: plain, sha256: content, size: f.content.size });
    }
    return await use({ ...snapshot, files });
  } finally {
    await scratch.remove();
  }
}
