// What the core reports while it works; the CLI renders these, a library caller may ignore them.
import type { LockHolder } from '../lock/file-lock.js';
import type { Backup } from '../store/manifest.js';

export type GuardEvent =
  | { type: 'lock-wait'; database: string; holder?: LockHolder; waitMs: number }
  | { type: 'busy-wait'; database: string; waitMs: number }
  | { type: 'backup-start'; database: string; location: string; size: number; kind: Backup['kind'] }
  | { type: 'backup-done'; database: string; backup: Backup; ms: number }
  | { type: 'command-start'; argv: string[] }
  | { type: 'command-end'; exitCode: number | null; signal: string | null; ms: number }
  | { type: 'restore-start'; database: string; backupId: string; target: string; size: number }
  | { type: 'restore-verified'; database: string; ms: number }
  | { type: 'safety-kept'; database: string; backup: Backup; how: 'link' | 'copy'; verified: boolean }
  | { type: 'restore-done'; database: string; method: string; ms: number; heldBy: string[] };

export type EventSink = (event: GuardEvent) => void;
