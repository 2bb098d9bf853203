// The manifest that describes one backup, and the public (JSON) view of a backup.
import path from 'node:path';
import type { ServerCopy, SnapshotFacts, StoredSnapshot } from '../engines/engine.js';
import type { Compression } from '../files/compression.js';
import { assemblePages } from './page-store/assemble-pages.js';

/** The name of the file that describes a backup, in its directory. */
export const MANIFEST = 'manifest.json';

/**
 * pre-run: before a guarded run; manual: safe-run backup; pre-restore: the safety backup of a restore;
 * startup / scheduled / shutdown: taken by safe-run serve (or `safe-run backup --kind …` from a timer).
 * Every kind but manual is automatic: retention decides about it.
 */
export type BackupKind = 'pre-run' | 'manual' | 'pre-restore' | 'startup' | 'scheduled' | 'shutdown';

/** Every kind, in the order they are listed. */
export const BACKUP_KINDS: readonly BackupKind[] = ['pre-run', 'manual', 'pre-restore', 'startup', 'scheduled', 'shutdown'];

/** The kinds `safe-run backup --kind` takes: manual, or one a scheduler would take. */
export const ON_DEMAND_KINDS: readonly BackupKind[] = ['manual', 'scheduled', 'startup', 'shutdown'];

export interface BackupManifest {
  format: 1;
  id: string;
  /** The configured name of the database. */
  database: string;
  /** The engine that wrote it and reopens it ("sqlite", "postgres", …). */
  engine: string;
  /** The live database it came from (resolved path, or URL without password): its identity. */
  source: string;
  kind: BackupKind;
  reason?: string;
  /** The run (or restore) this backup belongs to. */
  runId?: string;
  createdAt: string;
  /** How long taking and verifying it took, in ms. */
  durationMs: number;
  /** The main file's name inside the backup's directory (the only one for SQLite). */
  file: string;
  /** Size and sha256 of the main file. */
  size: number;
  sha256: string;
  /** Every file of the backup, the main one first, when there is more than one. */
  files?: BackupFile[];
  /** A copy kept on the database server that belongs to this backup (its files describe it). */
  serverCopy?: ServerCopy;
  /**
   * A page backup (./page-store): its files are a page list and the pages no earlier backup held;
   * `size` and `sha256` above are then the whole database file's, which a reassembled copy must have.
   */
  pages?: { pageSize: number; pageCount: number };
  facts: SnapshotFacts;
  safeRunVersion: string;
}

export interface BackupFile {
  name: string;
  /** Size and sha256 of the bytes stored (the compressed bytes, for a compressed file). */
  size: number;
  sha256: string;
  /** How the file is compressed in the store; absent: stored as the engine wrote it. */
  compression?: Compression;
  /** Size and sha256 of the file as the engine wrote it, before compression (checked on decompression). */
  content?: { size: number; sha256: string };
}

/** Every file of a backup, the main one first. */
export function filesOf(m: BackupManifest): BackupFile[] {
  return m.files ?? [{ name: m.file, size: m.size, sha256: m.sha256 }];
}

/** Whether any file of the backup is stored compressed (then it is read through files/compression). */
export function isCompressed(m: BackupManifest): boolean {
  return filesOf(m).some((f) => f.compression !== undefined);
}

/** A stored backup as its engine reads it back: absolute paths with the sha256 each must have. */
export function storedSnapshot(b: Backup): StoredSnapshot {
  const dir = path.dirname(b.path);
  if (b.pages) {
    // One file as the engine wrote it, made again from the pages wherever it is needed.
    return {
      files: [{ path: b.path, sha256: b.sha256, size: b.size, assemble: (dest: string) => assemblePages(dir, b, dest) }],
      facts: b.facts,
    };
  }
  return {
    files: filesOf(b).map((f) => ({ path: path.join(dir, f.name), sha256: f.sha256, size: f.size, ...(f.compression ? { compression: f.compression, content: f.content } : {}) })),
    serverCopy: b.serverCopy,
    facts: b.facts,
  };
}

/** The sum of a backup's file sizes (what it takes in the store). */
export function storedSize(m: BackupManifest): number {
  return filesOf(m).reduce((sum, f) => sum + f.size, 0);
}

/** What a backup takes: its files in the store, plus the copy on its database server where it has one. */
export function footprint(m: BackupManifest): number {
  return storedSize(m) + (m.serverCopy?.size ?? 0);
}

/** A backup as the rest of safe-run sees it: the manifest plus where its main file is. */
export interface Backup extends BackupManifest {
  /** Absolute path of the snapshot file. */
  path: string;
}
