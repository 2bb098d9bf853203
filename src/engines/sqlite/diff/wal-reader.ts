// Read a SQLite -wal file the way recovery does: valid frames up to the last commit, newest per page.
// Format: https://www.sqlite.org/fileformat.html#the_write_ahead_log
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';

export interface WalIndex {
  /** Page number → byte offset of its newest committed version in the -wal. */
  frames: Map<number, number>;
  /** Database size in pages after the last commit. */
  pageCount: number;
  /** The header's salts: they change when the WAL is restarted from its beginning. */
  salts: [number, number];
}

/** Run `read` on the open -wal file, or return undefined when there is none. */
function withWal<T>(walFile: string, read: (fd: number) => T | undefined): T | undefined {
  let fd: number;
  try {
    fd = openSync(walFile, 'r');
  } catch {
    return undefined;
  }
  try {
    return read(fd);
  } finally {
    closeSync(fd);
  }
}

/** The salts in a -wal header now, or undefined when there is no header. */
export function walSalts(walFile: string): [number, number] | undefined {
  return withWal(walFile, (fd) => {
    const head = Buffer.alloc(HEADER);
    if (readSync(fd, head, 0, HEADER, 0) < HEADER) return undefined;
    return [head.readUInt32BE(16), head.readUInt32BE(20)];
  });
}

const HEADER = 32;
const FRAME_HEADER = 24;

/** SQLite's WAL checksum over `data` (a multiple of 8 bytes), continuing from (s0, s1). */
function checksum(data: Buffer, start: number, end: number, bigEndian: boolean, s: [number, number]): void {
  let [s0, s1] = s;
  for (let i = start; i < end; i += 8) {
    const x0 = bigEndian ? data.readUInt32BE(i) : data.readUInt32LE(i);
    const x1 = bigEndian ? data.readUInt32BE(i + 4) : data.readUInt32LE(i + 4);
    s0 = (s0 + x0 + s1) >>> 0;
    s1 = (s1 + x1 + s0) >>> 0;
  }
  s[0] = s0;
  s[1] = s1;
}

/** The committed frames of `walFile`, or undefined when there is none (missing, empty, or invalid header). */
export function readWal(walFile: string, pageSize: number): WalIndex | undefined {
  return withWal(walFile, (fd) => {
    const size = fstatSync(fd).size;
    if (size < HEADER) return undefined;
    const head = Buffer.alloc(HEADER);
    readSync(fd, head, 0, HEADER, 0);
    const magic = head.readUInt32BE(0);
    if (magic !== 0x377f0682 && magic !== 0x377f0683) return undefined;
    const bigEndian = magic === 0x377f0683;
    if (head.readUInt32BE(8) !== pageSize) return undefined;
    const salt1 = head.readUInt32BE(16);
    const salt2 = head.readUInt32BE(20);
    const sum: [number, number] = [0, 0];
    checksum(head, 0, 24, bigEndian, sum);
    if (sum[0] !== head.readUInt32BE(24) || sum[1] !== head.readUInt32BE(28)) return undefined;

    const frameSize = FRAME_HEADER + pageSize;
    const committed = new Map<number, number>();
    const pending = new Map<number, number>();
    let pageCount = 0;
    // Read many frames per call; the WAL of a busy database can be large.
    const perChunk = Math.max(1, Math.floor((8 * 1024 * 1024) / frameSize));
    const chunk = Buffer.alloc(perChunk * frameSize);
    let offset = HEADER;
    scan: while (offset + frameSize <= size) {
      const got = readSync(fd, chunk, 0, Math.min(chunk.length, size - offset), offset);
      const frames = Math.floor(got / frameSize);
      if (frames === 0) break;
      for (let f = 0; f < frames; f++) {
        const base = f * frameSize;
        if (chunk.readUInt32BE(base + 8) !== salt1 || chunk.readUInt32BE(base + 12) !== salt2) break scan;
        checksum(chunk, base, base + 8, bigEndian, sum);
        checksum(chunk, base + FRAME_HEADER, base + frameSize, bigEndian, sum);
        if (sum[0] !== chunk.readUInt32BE(base + 16) || sum[1] !== chunk.readUInt32BE(base + 20)) break scan;
        const pgno = chunk.readUInt32BE(base);
        pending.set(pgno, offset + base + FRAME_HEADER);
        const commitSize = chunk.readUInt32BE(base + 4);
        if (commitSize > 0) {
          for (const [p, at] of pending) committed.set(p, at);
          pending.clear();
          pageCount = commitSize;
        }
      }
      offset += frames * frameSize;
    }
    if (committed.size === 0) return undefined;
    return { frames: committed, pageCount, salts: [salt1, salt2] };
  });
}
