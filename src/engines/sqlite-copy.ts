// The one read of a SQLite file: copy it chunk by chunk into a new file, hashing the bytes as written,
// with a hook that sees every chunk (per-page hashing can ride on the same read).
//
// Why by hand and not fs.copyFile + sha256File: that reads the file twice. Here a ring of page-aligned
// buffers keeps the reads and writes (libuv's thread pool) going while the main thread hashes the chunk
// before them; sha256 with SHA-NI (~0.6 s/GB) is then the pace, not the IO (bench/run.js: "copy+hash").
import { createHash } from 'node:crypto';
import { promises as fs, constants as fsc } from 'node:fs';
import { alignedBuffer } from '../files/aligned-buffer.js';

/** Bytes per read and write: large enough that the per-call cost vanishes, small enough to overlap well. */
const CHUNK = 4 * 1024 * 1024;
/** Buffers in flight: one being read, one being hashed, one being written. */
const RING = 3;

export interface CopyOptions {
  /**
   * Called with each chunk, in file order, after `patch` and before it is written; `offset` is its place
   * in the file. The buffer is reused once the call returns: copy what must be kept. Chunks are 4 MiB
   * (whole pages of any page size) but a short read may end one elsewhere: a per-page consumer carries
   * a partial page over to the next chunk.
   */
  onChunk?: (chunk: Buffer, offset: number) => void;
  /** Rewrite bytes of the first chunk (it starts at offset 0) before it is hashed and written. */
  patch?: (head: Buffer) => void;
  /** The new file's mode (default 0600, like every backup file). */
  mode?: number;
  /** fsync the new file before resolving (default true). */
  sync?: boolean;
}

export interface CopyResult {
  /** sha256 (hex) of exactly the bytes written to `dest`. */
  sha256: string;
  size: number;
}

/**
 * Copy `src` to `dest` (which must not exist) until `src` ends, hashing what is written. On failure the
 * partial `dest` is removed. Reads are not snapshot-isolated: the caller makes sure nothing changes
 * `src` meanwhile (see SqliteEngine.snapshotTo for how).
 */
export async function copyHashing(src: string, dest: string, opts: CopyOptions = {}): Promise<CopyResult> {
  const hash = createHash('sha256');
  const input = await fs.open(src, fsc.O_RDONLY);
  let output: fs.FileHandle | undefined;
  const writes: Array<Promise<unknown> | undefined> = new Array(RING);
  try {
    output = await fs.open(dest, fsc.O_WRONLY | fsc.O_CREAT | fsc.O_EXCL, opts.mode ?? 0o600);
    const bufs = Array.from({ length: RING }, () => alignedBuffer(CHUNK));
    let pos = 0;
    let slot = 0;
    let reading = input.read(bufs[0]!, 0, CHUNK, 0);
    for (;;) {
      const { bytesRead } = await reading;
      if (bytesRead === 0) break;
      const chunk = bufs[slot]!.subarray(0, bytesRead);
      const next = (slot + 1) % RING;
      // The next buffer may still be on its way to the disk from the last round: wait for it, then read into it.
      await writes[next];
      reading = input.read(bufs[next]!, 0, CHUNK, pos + bytesRead);
      if (pos === 0) opts.patch?.(chunk);
      hash.update(chunk);
      opts.onChunk?.(chunk, pos);
      writes[slot] = writeAll(output, chunk, pos);
      writes[slot]!.catch(() => undefined); // awaited in a later round or below
      pos += bytesRead;
      slot = next;
    }
    await Promise.all(writes);
    if (opts.sync ?? true) await output.sync();
    await output.close();
    output = undefined;
    return { sha256: hash.digest('hex'), size: pos };
  } catch (err) {
    if (output) {
      await Promise.allSettled(writes);
      await output.close().catch(() => undefined);
      await fs.rm(dest, { force: true }).catch(() => undefined);
    }
    throw err;
  } finally {
    await input.close();
  }
}

async function writeAll(fh: fs.FileHandle, chunk: Buffer, at: number): Promise<void> {
  let done = 0;
  while (done < chunk.length) {
    const { bytesWritten } = await fh.write(chunk, done, chunk.length - done, at + done);
    done += bytesWritten;
  }
}
