// One table as one CSV file (RFC 4180, UTF-8 with BOM), streamed; and the count of its records read back.
import { parse } from 'csv-parse';
import { stringify } from 'csv-stringify';
import { createReadStream, createWriteStream } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ExportTable } from '../../engines/engine.js';

/**
 * The convention, written in every export's README.txt: text is always quoted, so an empty quoted field
 * ("") is the empty string and an empty unquoted field is NULL. Numbers are unquoted; BLOBs are base64
 * (quoted, so an empty BLOB is "" and not NULL). Records end with CRLF, as RFC 4180 says.
 */
const CSV_OPTIONS = {
  bom: true,
  header: false,
  record_delimiter: 'windows' as const,
  quoted_string: true,
  cast: {
    bigint: (v: bigint) => v.toString(),
    // A Buffer is an "object" to csv-stringify; anything else that is one is not a database value.
    object: (v: object) => (Buffer.isBuffer(v) ? { value: v.toString('base64'), quoted: true, quoted_empty: true } : JSON.stringify(v)),
    number: (v: number) => (Number.isFinite(v) ? String(v) : v > 0 ? 'Infinity' : v < 0 ? '-Infinity' : 'NaN'),
  },
};

/** Write `table` to `file` (which must not exist): its header, then every row. Resolves to the rows written. */
export async function writeTableCsv(table: ExportTable, file: string): Promise<number> {
  let rows = 0;
  const records = function* () {
    yield table.columns.map((c) => c.name);
    for (const row of table.rows()) {
      rows++;
      yield row;
    }
  };
  // Readable.from pulls the next row only when the stringifier and the file want more: memory stays
  // flat whatever the table's size.
  await pipeline(Readable.from(records(), { objectMode: true }), stringify(CSV_OPTIONS), createWriteStream(file, { flags: 'wx', mode: 0o600, highWaterMark: 1 << 20 }));
  return rows;
}

/** Records in a CSV written by writeTableCsv, header excluded: parsed back, streaming, as a reader would. */
export async function countCsvRecords(file: string): Promise<number> {
  let records = 0;
  const parser = createReadStream(file, { highWaterMark: 1 << 20 }).pipe(parse({ bom: true, relax_column_count: false }));
  for await (const _ of parser) records++;
  return Math.max(0, records - 1);
}
