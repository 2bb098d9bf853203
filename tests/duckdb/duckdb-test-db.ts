// Test helpers for DuckDB files: the fixture script as another process, and reading a file in this one.
import { DuckDBInstance } from '@duckdb/node-api';
import { spawn, spawnSync } from 'node:child_process';
import path from 'node:path';
import { FIXTURES } from '../helpers/cli.js';

export const BANK = path.join(FIXTURES, 'duckdb-bank.mjs');

/** Run the fixture script to completion (init, sql); throws with its stderr when it fails. */
export function bank(mode: 'init' | 'sql', file: string, arg?: string): void {
  const r = spawnSync(process.execPath, [BANK, mode, file, ...(arg === undefined ? [] : [arg])], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`duckdb-bank ${mode}: ${r.stderr}`);
}

/** Another process holding the file open (with a committed transfer in its .wal) until stop(). */
export async function holdOpen(file: string): Promise<{ pid: number; stop(): Promise<void> }> {
  const child = spawn(process.execPath, [BANK, 'hold', file], { stdio: ['pipe', 'pipe', 'inherit'] });
  const pid = await new Promise<number>((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => {
      const m = /ready (\d+)/.exec(d.toString());
      if (m) resolve(Number(m[1]));
    });
    child.on('exit', (code) => reject(new Error(`holder exited ${code}`)));
  });
  return {
    pid,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.on('exit', () => resolve());
        child.stdin!.end('stop\n');
      }),
  };
}

/** Query `file` read-only in this process (closed again before returning). */
export async function query<T = unknown[]>(file: string, sql: string): Promise<T[]> {
  const instance = await DuckDBInstance.create(file, { access_mode: 'READ_ONLY' });
  try {
    const conn = await instance.connect();
    try {
      return (await conn.runAndReadAll(sql)).getRowsJS() as T[];
    } finally {
      conn.closeSync();
    }
  } finally {
    instance.closeSync();
  }
}

/**
 * Everything a user would call the database's content: every table's columns and a digest of its rows
 * by their JSON text (byte-exact: -0.0, intervals, NOCASE text and UNION tags all show), plus indexes,
 * views and where each sequence stands.
 */
export async function contentsOf(file: string): Promise<unknown> {
  const tables = await query<[string, string]>(file, `SELECT schema_name, table_name FROM duckdb_tables() WHERE NOT internal ORDER BY 1, 2`);
  const out: Record<string, unknown> = {};
  for (const [schema, table] of tables) {
    const rel = `"${schema}"."${table}"`;
    const [[n, digest]] = await query<[bigint, string]>(file, `SELECT count(*), md5(coalesce(string_agg(j, '\n' ORDER BY j), '')) FROM (SELECT CAST(to_json(x) AS VARCHAR) AS j FROM ${rel} AS x)`);
    const columns = await query(file, `SELECT column_name, data_type, is_nullable FROM duckdb_columns() WHERE schema_name = '${schema}' AND table_name = '${table}' ORDER BY column_index`);
    out[`${schema}.${table}`] = { rows: Number(n), digest, columns };
  }
  out['(indexes)'] = await query(file, `SELECT index_name, sql FROM duckdb_indexes() ORDER BY 1`);
  out['(views)'] = await query(file, `SELECT view_name, sql FROM duckdb_views() WHERE NOT internal ORDER BY 1`);
  out['(constraints)'] = await query(file, `SELECT table_name, constraint_type, constraint_text FROM duckdb_constraints() ORDER BY ALL`);
  out['(sequences)'] = (await query(file, `SELECT sequence_name, start_value, last_value FROM duckdb_sequences() ORDER BY 1`)).map((r) => r.map(String));
  return out;
}
