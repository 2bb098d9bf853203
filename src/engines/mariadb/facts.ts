// What a MariaDB backup says about itself: `shadow.json` (a shadow copy: its schema, counts, checksums
// and the views, triggers, routines and events as definitions) or `dump.json` beside a dump.
import { promises as fs } from 'node:fs';
import type { CheckLevel } from '../../config.js';
import type { SnapshotFacts } from '../engine.js';
import { EngineError } from '../engine-errors.js';
import type { SchemaObject } from './objects.js';
import type { TableCount } from './shadow.js';

export const SHADOW_FILE = 'shadow.json';
export const DUMP_FILE = 'dump.sql';
export const DUMP_FACTS = 'dump.json';

export interface ShadowFacts {
  strategy: 'shadow';
  schema: string;
  tables: TableCount[];
  objects: SchemaObject[];
}
export interface DumpFacts {
  strategy: 'dump';
  tables: TableCount[];
  fellBackBecause?: string;
}
export type Described = ShadowFacts | DumpFacts;

export function factsOf(strategy: string, tables: TableCount[], level: CheckLevel, result: string, fellBackBecause?: string): SnapshotFacts {
  return {
    strategy: fellBackBecause ? `${strategy} (shadow copy not possible: ${fellBackBecause})` : strategy,
    tables: tables.map((t) => ({ name: t.table, rows: t.rows })),
    check: { level, result },
  };
}

export async function readFacts(files: string[]): Promise<Described> {
  const json = files.find((f) => f.endsWith(`/${SHADOW_FILE}`) || f.endsWith(`/${DUMP_FACTS}`));
  if (!json) throw new EngineError('not-a-database', 'this backup has neither shadow.json nor dump.json', { hint: 'it was not taken by the MariaDB engine, or it is damaged' });
  try {
    return JSON.parse(await fs.readFile(json, 'utf8')) as Described;
  } catch (err) {
    throw new EngineError('check-failed', `cannot read ${json}: ${(err as Error).message}`, { hint: 'the backup is damaged; pick another backup with: safe-run list', cause: err });
  }
}
