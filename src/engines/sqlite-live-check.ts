// doctor's look at a live SQLite database: its header and its -wal/-shm first (read as bytes, before
// SQLite opens anything: opening a database whose -wal was deleted silently starts a new one and resets
// the -shm, and with it the only evidence), then PRAGMA integrity_check on a read-only connection.
// The kinds of damage follow sqlite.org/howtocorrupt.html: overwritten pages, a truncated file, a -wal
// deleted (§1.4, 2.x) or paired with the wrong database.
import Database from 'better-sqlite3';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import type { LiveCheck } from './engine.js';
import { summariseCheck } from './engine-errors.js';
import { processesHolding } from './open-handles.js';

const MAGIC = 'SQLite format 3\0';
const WAL_MAGIC = new Set([0x377f0682, 0x377f0683]);

export async function checkSqliteLive(file: string): Promise<LiveCheck> {
  const stat = await fs.lstat(file).catch(() => undefined);
  if (!stat) return { state: 'missing', problems: ['there is no database file at its path'] };
  if (!stat.isFile()) return { state: 'damaged', problems: ['its path is not a regular file'] };
  if (stat.size === 0) return { state: 'ok', problems: [] }; // SQLite's empty database
  const head = await readBytes(file, 0, 100);
  if (head.length < 100 || head.toString('latin1', 0, 16) !== MAGIC) {
    return { state: 'damaged', problems: ['the file header is not a SQLite header: the first page was overwritten, or this is not a database'] };
  }
  const problems = await inspectFiles(file, head, stat.size);
  // Evidence first: with a problem found in the files, SQLite is not let near them (see the top).
  if (problems.length > 0) return { state: 'damaged', problems };
  const check = integrityCheck(file);
  return check === 'ok' ? { state: 'ok', problems: [] } : { state: 'damaged', problems: [`integrity_check: ${summariseCheck(check)}`] };
}

/** What the header, the -wal and the -shm say, read as bytes. */
async function inspectFiles(file: string, head: Buffer, size: number): Promise<string[]> {
  const problems: string[] = [];
  const rawPage = head.readUInt16BE(16);
  const pageSize = rawPage === 1 ? 65536 : rawPage;
  if (pageSize < 512 || (pageSize & (pageSize - 1)) !== 0) return [`the header's page size (${rawPage}) is not a valid one: the first page was overwritten`];
  const wal = await readBytes(`${file}-wal`, 0, 32).catch(() => Buffer.alloc(0));
  const walSize = await fs.stat(`${file}-wal`).then((s) => s.size).catch(() => 0);
  const walFrames = wal.length === 32 && WAL_MAGIC.has(wal.readUInt32BE(0)) ? Math.floor((walSize - 32) / (24 + wal.readUInt32BE(8))) : 0;
  // Without frames in a -wal, the file alone is the database: it must hold every page the header counts.
  const headerPages = head.readUInt32BE(28);
  const headerPagesValid = headerPages > 0 && head.readUInt32BE(24) === head.readUInt32BE(92);
  if (walFrames === 0 && (size % pageSize !== 0 || (headerPagesValid && size < headerPages * pageSize))) {
    const expected = headerPagesValid ? `${headerPages} pages of ${pageSize} bytes (${headerPages * pageSize} bytes)` : `whole pages of ${pageSize} bytes`;
    problems.push(`the file is truncated: its header says ${expected}, the file has ${size} bytes`);
  }
  if (walFrames > 0 && wal.readUInt32BE(8) !== pageSize) {
    problems.push(`the -wal holds pages of ${wal.readUInt32BE(8)} bytes, the database ${pageSize}: the -wal belongs to another database`);
  }
  // A live -shm changes under us while other processes write: only a database nobody has open is judged by it.
  const { holders, complete } = await processesHolding(file);
  if (holders.length > 0 || !complete) return problems;
  const shm = await readBytes(`${file}-shm`, 0, 136).catch(() => Buffer.alloc(0));
  const index = walIndexHeader(shm);
  if (!index || index.mxFrame === 0) return problems;
  if (walFrames === 0 && index.mxFrame > index.nBackfill) {
    problems.push(
      `the -wal is gone, but the -shm says it held ${index.mxFrame - index.nBackfill} committed page writes not yet in the database file: those transactions are lost (a deleted -wal)`,
    );
  } else if (walFrames > 0 && !wal.subarray(16, 24).equals(index.salt)) {
    problems.push('the -wal is not the one this database was using (its salt differs from the one the -shm recorded): a -wal from another database, or one put back from elsewhere');
  }
  return problems;
}

/**
 * The wal-index header at the start of the -shm (two copies of 48 bytes, in this machine's byte order,
 * then the checkpoint info whose first field is nBackfill). Undefined when it is not a valid one.
 */
function walIndexHeader(shm: Buffer): { mxFrame: number; nBackfill: number; salt: Buffer } | undefined {
  if (shm.length < 136) return undefined;
  const u32 = (at: number) => (os.endianness() === 'LE' ? shm.readUInt32LE(at) : shm.readUInt32BE(at));
  if (u32(0) !== 3007000 || shm[12] !== 1 || !shm.subarray(0, 48).equals(shm.subarray(48, 96))) return undefined;
  return { mxFrame: u32(16), nBackfill: u32(96), salt: Buffer.from(shm.subarray(32, 40)) };
}

/** PRAGMA integrity_check on a read-only connection; what SQLite said, or why it would not open. */
function integrityCheck(file: string): string {
  let db: Database.Database | undefined;
  try {
    db = new Database(file, { readonly: true, fileMustExist: true, timeout: 10_000 });
    return (db.prepare('PRAGMA integrity_check(20)').pluck().all() as string[]).join('; ');
  } catch (err) {
    return (err as Error).message;
  } finally {
    db?.close();
  }
}

async function readBytes(file: string, at: number, length: number): Promise<Buffer> {
  const fh = await fs.open(file, 'r');
  try {
    const buf = Buffer.alloc(length);
    const { bytesRead } = await fh.read(buf, 0, length, at);
    return buf.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}
