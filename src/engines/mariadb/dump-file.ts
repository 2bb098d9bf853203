// Read a mariadb-dump file back without a server: is it a dump (its header), is it whole (a dump cut
// short has no "-- Dump completed" line), and how many rows it holds per table, counted from its INSERT
// statements: the counts of the dump's own snapshot.
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import type { TableCount } from './shadow.js';

export interface DumpScan {
  header: boolean;
  completed: boolean;
  tables: TableCount[];
}

const INSERT = /^INSERT INTO `((?:[^`]|``)+)` VALUES/;
const CREATE = /^CREATE TABLE `((?:[^`]|``)+)`/;

export async function scanDump(file: string): Promise<DumpScan> {
  const counts = new Map<string, number>();
  let header = false;
  let last = '';
  let lineNo = 0;
  // Inside an INSERT: the table, the parenthesis depth and whether in a quoted string.
  let table: string | undefined;
  let depth = 0;
  let quote = 0;
  const lines = createInterface({ input: createReadStream(file), crlfDelay: Infinity });
  for await (const line of lines) {
    lineNo++;
    if (lineNo <= 3 && /^-- (MariaDB|MySQL) dump /.test(line)) header = true;
    if (line.trim() !== '') last = line;
    let from = 0;
    if (table === undefined) {
      const created = CREATE.exec(line);
      if (created) counts.set(created[1]!.replace(/``/g, '`'), counts.get(created[1]!.replace(/``/g, '`')) ?? 0);
      const m = INSERT.exec(line);
      if (!m) continue;
      table = m[1]!.replace(/``/g, '`');
      from = m[0].length;
      depth = 0;
      quote = 0;
    }
    let n = counts.get(table) ?? 0;
    for (let i = from; i < line.length; i++) {
      const ch = line.charCodeAt(i);
      if (quote !== 0) {
        if (ch === 92) i++; // backslash escapes the next character
        else if (ch === quote) quote = 0;
      } else if (ch === 39 || ch === 34) quote = ch;
      else if (ch === 40) {
        if (depth++ === 0) n++;
      } else if (ch === 41) depth--;
      else if (ch === 59 && depth === 0) {
        counts.set(table, n);
        table = undefined;
        break;
      }
    }
    if (table !== undefined) counts.set(table, n);
  }
  return {
    header,
    completed: /^-- Dump completed/.test(last) && table === undefined,
    tables: [...counts].map(([t, rows]) => ({ table: t, rows })).sort((a, b) => (a.table < b.table ? -1 : 1)),
  };
}
