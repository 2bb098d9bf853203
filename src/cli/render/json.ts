// The public --json shapes (documented in the README): stable field names, no secrets.
import type { RunRecord } from '../../oplog/run-record.js';
import { filesOf, type Backup } from '../../store/manifest.js';

export function backupJson(b: Backup) {
  return {
    id: b.id,
    database: b.database,
    source: b.source,
    path: b.path,
    sha256: b.sha256,
    size: b.size,
    files: filesOf(b),
    serverCopy: b.serverCopy ?? null,
    /** A page backup: size and sha256 are the whole file's, its files hold the pages no earlier backup had. */
    pages: b.pages ?? null,
    kind: b.kind,
    createdAt: b.createdAt,
    runId: b.runId ?? null,
    reason: b.reason ?? null,
    engine: b.engine,
    durationMs: b.durationMs,
    check: b.facts.check,
    strategy: b.facts.strategy ?? null,
    pageSize: b.facts.pageSize ?? null,
    pageCount: b.facts.pageCount ?? null,
    userVersion: b.facts.userVersion ?? null,
    tables: b.facts.tables,
    safeRunVersion: b.safeRunVersion,
  };
}

export function runJson(r: RunRecord) {
  return {
    id: r.id,
    kind: r.kind,
    status: r.status,
    argv: r.argv,
    cwd: r.cwd,
    user: r.user,
    host: r.host,
    pid: r.pid,
    startedAt: r.startedAt,
    endedAt: r.endedAt ?? null,
    durationMs: r.durationMs ?? null,
    exitCode: r.exitCode ?? null,
    signal: r.signal ?? null,
    databases: r.databases,
    backups: r.backups,
    restored: r.restored ?? null,
    rollbackCommand: r.rollbackCommand ?? null,
    reason: r.reason ?? null,
    error: r.error ?? null,
    autoRollback: r.autoRollback ?? null,
    backupSkipped: r.backupSkipped ?? null,
    pruned: r.pruned ?? null,
    safeRunVersion: r.safeRunVersion,
  };
}
