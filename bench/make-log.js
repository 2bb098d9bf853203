// Write an operation log of N realistic finished runs directly (as an older safe-run would have left it),
// so that the log bench can measure what a guarded run and `safe-run log` cost with a big history.
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';

const hex = (n) => randomBytes(n / 2).toString('hex');

/**
 * One finished guarded run on `database`, as safe-run writes it. The host is another machine's and the
 * run ended long ago, so that nothing about it can still be running here.
 */
export function fakeRun(i, { dir, database = 'app', start = Date.parse('2025-01-01T00:00:00Z') } = {}) {
  const id = hex(12);
  const backupId = hex(12);
  const startedAt = new Date(start + i * 60_000).toISOString();
  const failed = i % 17 === 0;
  return {
    id,
    status: failed ? 'failed' : 'succeeded',
    cwd: dir,
    user: 'deploy',
    host: 'bench-elsewhere',
    pid: 100000 + (i % 50000),
    safeRunVersion: '0.1.0',
    kind: 'run',
    argv: ['node', 'scripts/migrate.js', '--step', String(i)],
    databases: [database],
    startedAt,
    backups: [
      {
        id: backupId,
        database,
        engine: 'sqlite',
        source: path.join(dir, 'data', `${database}.db`),
        path: path.join(dir, 'backups', database, backupId, 'snapshot.sqlite'),
        sha256: hex(64),
        size: 4096 * (1 + (i % 300)),
      },
    ],
    rollbackCommand: `safe-run -C ${dir} rollback ${id}`,
    endedAt: new Date(start + i * 60_000 + 1500).toISOString(),
    durationMs: 1500,
    exitCode: failed ? 1 : 0,
    signal: null,
  };
}

/** Write `count` runs into `file` as one plain log file ({version, runs}), the way it used to grow. */
export function writeBigLog(file, count, opts) {
  mkdirSync(path.dirname(file), { recursive: true });
  const runs = Array.from({ length: count }, (_, i) => fakeRun(i, opts));
  writeFileSync(file, JSON.stringify({ version: 1, runs }, null, 1) + '\n');
  return runs;
}
