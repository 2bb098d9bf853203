// Read a mariadb-dump file back without a server: is it a dump (its header), is it whole (a dump cut
// short has no "-- Dump completed" line), and how many rows it holds per table, counted from its INSERT
// statements: the counts of the dump's own snapshot. One pass over the bytes (no decoding into strings:
// that is what made a line reader four times slower here).
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import type { TableCount } from './shadow.js';

export interface DumpScan {
  header: boolean;
  completed: boolean;
  tables: TableCount[];
}

const INSERT = /^INSERT INTO `((?:[^`]|``)+)` VALUES/;
const CREATE = /^CREATE TABLE `((?:[^`]|``)+)`/;
const HEAD = 200; // bytes of a line kept to recognise a statement

/** Scan a dump file from disk. */
export async function scanDump(file: string): Promise<DumpScan> {
  const scanner = new DumpScanner();
  for await (const chunk of createReadStream(file, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>) scanner.push(chunk);
  return scanner.result();
}

/** Only the first and last bytes: the header and the completion line (the sha256 vouches for the rest). */
export async function readEnds(file: string): Promise<Omit<DumpScan, 'tables'>> {
  const fh = await open(file, 'r');
  try {
    const size = (await fh.stat()).size;
    const head = Buffer.alloc(Math.min(size, 4096));
    await fh.read(head, 0, head.length, 0);
    const tail = Buffer.alloc(Math.min(size, 4096));
    await fh.read(tail, 0, tail.length, size - tail.length);
    const lines = tail.toString('utf8').split('\n').filter((l) => l.trim() !== '');
    return {
      header: head.toString('utf8').split('\n').slice(0, 3).some((l) => /^-- (MariaDB|MySQL) dump /.test(l)),
      completed: /^-- Dump completed/.test(lines[lines.length - 1] ?? ''),
    };
  } finally {
    await fh.close();
  }
}

/** The scan fed chunk by chunk, so that it can run while the dump is being written. */
export class DumpScanner {
  private counts = new Map<string, number>();
  private header = false;
  private lineNo = 0;
  private headParts: Buffer[] = [];
  private headLen = 0;
  private lastLine = '';
  // Inside an INSERT's values: the table, the parenthesis depth, the quote byte (0: none), an escape.
  private table: string | undefined;
  private n = 0;
  private depth = 0;
  private quote = 0;
  private escaped = false;
  private lineStart = true;

  private endOfLine(): void {
    const text = Buffer.concat(this.headParts, this.headLen).toString('utf8');
    this.lineNo++;
    if (this.lineNo <= 3 && /^-- (MariaDB|MySQL) dump /.test(text)) this.header = true;
    if (text.trim() !== '') this.lastLine = text;
    this.headParts = [];
    this.headLen = 0;
  }

  push(chunk: Buffer): void {
    let { table, n, depth, quote, escaped } = this;
    for (let i = 0; i < chunk.length; i++) {
      const ch = chunk[i]!;
      if (table !== undefined) {
        if (escaped) escaped = false;
        else if (quote !== 0) {
          if (ch === 92) escaped = true;
          else if (ch === quote) quote = 0;
        } else if (ch === 39 || ch === 34) quote = ch;
        else if (ch === 40) {
          if (depth++ === 0) n++;
        } else if (ch === 41) depth--;
        else if (ch === 59 && depth === 0) {
          this.counts.set(table, n);
          table = undefined;
        }
        if (ch === 10) this.lineStart = true;
        continue;
      }
      if (ch === 10) {
        this.endOfLine();
        this.lineStart = true;
        continue;
      }
      if ((this.lineStart || this.headLen > 0) && this.headLen < HEAD) {
        this.lineStart = false;
        this.headParts.push(chunk.subarray(i, i + 1));
        this.headLen++;
        if (this.headLen >= 12) {
          // Recognise "INSERT INTO `t` VALUES" as soon as it is complete; the values follow.
          const text = Buffer.concat(this.headParts, this.headLen).toString('utf8');
          this.headParts = [Buffer.from(text)];
          const created = CREATE.exec(text);
          if (created && text.endsWith('(')) this.counts.set(unquote(created[1]!), this.counts.get(unquote(created[1]!)) ?? 0);
          const m = INSERT.exec(text);
          if (m) {
            table = unquote(m[1]!);
            n = this.counts.get(table) ?? 0;
            depth = 0;
            quote = 0;
            escaped = false;
            this.lastLine = text;
            this.headParts = [];
            this.headLen = 0;
          }
        }
      }
    }
    if (table !== undefined) this.counts.set(table, n);
    Object.assign(this, { table, n, depth, quote, escaped });
  }

  result(): DumpScan {
    if (this.headLen > 0) this.endOfLine();
    return {
      header: this.header,
      completed: /^-- Dump completed/.test(this.lastLine) && this.table === undefined,
      tables: [...this.counts].map(([t, rows]) => ({ table: t, rows })).sort((a, b) => (a.table < b.table ? -1 : 1)),
    };
  }
}

const unquote = (q: string) => q.replace(/``/g, '`');
