// Pages of a SQLite database as SQLite sees them: from a plain file, or a live file with its -wal.
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { readWal, walSalts, type WalIndex } from './wal-reader.js';

export interface PageSource {
  readonly pageSize: number;
  /** Pages in the database (as of the last commit the source sees). */
  readonly pageCount: number;
  /** Page `pgno` (1-based) into `buf` at `offset`; zeros past the end. */
  read(pgno: number, buf?: Buffer, offset?: number): Buffer;
  /** Pages `first`..`first+count-1` into `buf` (one large read where the file allows it). */
  readRun(first: number, count: number, buf: Buffer): void;
  close(): void;
}

/** The page size and page count recorded in a database header. */
export function readHeader(fd: number): { pageSize: number; pageCount: number; fileSize: number } {
  const head = Buffer.alloc(100);
  readSync(fd, head, 0, 100, 0);
  if (head.toString('latin1', 0, 16) !== 'SQLite format 3\0') throw Object.assign(new Error('file is not a database'), { code: 'SQLITE_NOTADB' });
  const raw = head.readUInt16BE(16);
  const pageSize = raw === 1 ? 65536 : raw;
  const fileSize = fstatSync(fd).size;
  // The in-header size is valid only when "version-valid-for" equals the change counter.
  const inHeader = head.readUInt32BE(28);
  const valid = inHeader > 0 && head.readUInt32BE(92) === head.readUInt32BE(24);
  return { pageSize, pageCount: valid ? inHeader : Math.floor(fileSize / pageSize), fileSize };
}

export class FilePageSource implements PageSource {
  readonly pageSize: number;
  pageCount: number;
  protected readonly fd: number;

  /** Whether close() closes the descriptor (not when it was lent by another thread). */
  private readonly owned: boolean;

  /** `fd`: a descriptor of `file` lent by another thread of this process, left open on close(). */
  constructor(
    readonly file: string,
    fd?: number,
  ) {
    this.owned = fd === undefined;
    this.fd = fd ?? openSync(file, 'r');
    try {
      const h = readHeader(this.fd);
      this.pageSize = h.pageSize;
      this.pageCount = h.pageCount;
    } catch (err) {
      if (this.owned) closeSync(this.fd);
      throw err;
    }
  }

  /** The descriptor, to lend to a worker thread (threads share descriptors; closing one drops locks). */
  get descriptor(): number {
    return this.fd;
  }

  read(pgno: number, buf: Buffer = Buffer.alloc(this.pageSize), offset = 0): Buffer {
    const n = readSync(this.fd, buf, offset, this.pageSize, (pgno - 1) * this.pageSize);
    if (n < this.pageSize) buf.fill(0, offset + n, offset + this.pageSize);
    return buf;
  }

  readRun(first: number, count: number, buf: Buffer): void {
    const want = count * this.pageSize;
    const n = readSync(this.fd, buf, 0, want, (first - 1) * this.pageSize);
    if (n < want) buf.fill(0, n, want);
  }

  close(): void {
    if (this.owned) closeSync(this.fd);
  }
}

/**
 * A live database: its file, overlaid with the newest committed version of each page in its -wal.
 * The caller holds a read transaction on the database while using it, so that no checkpoint can
 * rewrite pages of the file that the WAL does not also hold (see SqliteEngine.snapshot).
 */
export class LivePageSource extends FilePageSource {
  readonly wal?: WalIndex;
  private readonly walFd?: number;
  private readonly walOwned: boolean = false;

  /** `given`: an index read before (by another thread), so that both read the same commit; null: none. */
  constructor(file: string, given?: WalIndex | null, lent?: { fd: number; walFd?: number }) {
    super(file, lent?.fd);
    const wal = given === undefined ? readWal(`${file}-wal`, this.pageSize) : (given ?? undefined);
    if (wal && wal.frames.size > 0) {
      this.wal = wal;
      this.walFd = lent?.walFd ?? openSync(`${file}-wal`, 'r');
      this.walOwned = lent?.walFd === undefined;
      this.pageCount = wal.pageCount;
    }
  }

  override read(pgno: number, buf: Buffer = Buffer.alloc(this.pageSize), offset = 0): Buffer {
    const at = this.wal?.frames.get(pgno);
    if (at === undefined) return pgno > this.pageCount ? buf.fill(0, offset, offset + this.pageSize) : super.read(pgno, buf, offset);
    readSync(this.walFd!, buf, offset, this.pageSize, at);
    return buf;
  }

  override readRun(first: number, count: number, buf: Buffer): void {
    super.readRun(first, count, buf);
    if (!this.wal) return;
    for (let i = 0; i < count; i++) {
      const pgno = first + i;
      if (pgno > this.pageCount) buf.fill(0, i * this.pageSize, (i + 1) * this.pageSize);
      else if (this.wal.frames.has(pgno)) this.read(pgno, buf, i * this.pageSize);
    }
  }

  /**
   * Whether the -wal was restarted since it was read. SQLite restarts it only once every frame is in
   * the database file, and a reader that started then reads the file alone: the caller then compares
   * against the file without the -wal (its frames may have been overwritten meanwhile).
   */
  walRestarted(): boolean {
    if (!this.wal) return false;
    const now = walSalts(`${this.file}-wal`);
    return !now || now[0] !== this.wal.salts[0] || now[1] !== this.wal.salts[1];
  }

  /** The -wal's descriptor, to lend to a worker thread. */
  get walDescriptor(): number | undefined {
    return this.walFd;
  }

  override close(): void {
    if (this.walFd !== undefined && this.walOwned) closeSync(this.walFd);
    super.close();
  }
}
