// What the core reports while it works; the CLI renders these, a library caller may ignore them.
import type { LockHolder } from '../lock/file-lock.js';
import type { Backup } from '../store/manifest.js';
import type { KeptDatabase } from '../engines/engine.js';

export type GuardEvent =
  | { type: 'lock-wait'; database: string; holder?: LockHolder; waitMs: number }
  | { type: 'busy-wait'; database: string; waitMs: number }
  | { type: 'backup-start'; database: string; location: string; size: number; kind: Backup['kind'] }
  | { type: 'backup-done'; database: string; backup: Backup; ms: number }
  /** Backups are switched off: the command starts without one (the CLI warns loudly). */
  | { type: 'backup-skipped'; databases: string[]; reason: string }
  | { type: 'command-start'; argv: string[] }
  /** Automatic retention after a run or backup: what it removed, or why it could not (a warning only). */
  | { type: 'auto-prune'; removed: Backup[]; error?: string }
  | { type: 'command-end'; exitCode: number | null; signal: string | null; ms: number }
  | { type: 'restore-start'; database: string; backupId: string; target: string; size: number }
  | { type: 'restore-verified'; database: string; ms: number }
  | { type: 'safety-kept'; database: string; backup: Backup; how: KeptDatabase['how']; verified: boolean }
  | {
      type: 'restore-done';
      database: string;
      method: string;
      ms: number;
      heldBy: string[];
      target: string;
      /** What a symbolic link found at `target` (made after the backup) pointed at; the link was replaced. */
      replacedLink?: string;
    };

export type EventSink = (event: GuardEvent) => void;
