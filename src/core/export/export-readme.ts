// What an export says about itself: manifest.json's shape and the README.txt written beside the CSVs.

export interface ExportManifest {
  format: 1;
  exportedAt: string;
  safeRunVersion: string;
  /** The backup the rows come from, and the sha256 its file had when read. */
  source: { backupId: string; database: string; engine: string; createdAt: string; sha256: string };
  /** How NULL, empty strings and binary values are written (the same words as README.txt). */
  conventions: { null: string; emptyString: string; blob: string; encoding: string };
  tables: Array<{ name: string; file: string; columns: Array<{ name: string; type: string }>; rows: number; size: number; sha256: string }>;
  /** The statements that recreate the schema, in order. */
  schema: string[];
}

export const CONVENTIONS: ExportManifest['conventions'] = {
  null: 'an empty unquoted field',
  emptyString: 'an empty quoted field ("")',
  blob: 'base64, quoted',
  encoding: 'UTF-8 with BOM, RFC 4180 (comma, double quotes, CRLF); the first record names the columns',
};

export function exportReadme(m: ExportManifest): string {
  const lines = [
    `Export of backup ${m.source.backupId} of "${m.source.database}" (${m.source.engine}), taken ${m.source.createdAt}.`,
    `Written by safe-run ${m.safeRunVersion} on ${m.exportedAt}.`,
    '',
    'One CSV file per table; manifest.json lists them with their row counts, sha256 and the schema.',
    '',
    'How values are written:',
    `  encoding      ${m.conventions.encoding}`,
    '  text          always quoted, e.g. "hello"; quotes inside are doubled',
    `  NULL          ${m.conventions.null}:  1,,"x"  has NULL in the middle`,
    `  empty string  ${m.conventions.emptyString}:  1,"","x"  has '' in the middle`,
    '  numbers       unquoted; integers are exact, whatever their size',
    `  BLOB          ${m.conventions.blob} (an empty BLOB is "")`,
    '',
    'Tables:',
    ...m.tables.map((t) => `  ${t.file}  ${t.rows} rows  (table ${JSON.stringify(t.name)})`),
    '',
    'Check the files against manifest.json with: sha256sum <file>',
    '',
  ];
  return lines.join('\r\n');
}
