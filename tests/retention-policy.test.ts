// The retention decision itself, a pure function: a table of cases (restic's semantics, protections).
import { describe, expect, it } from 'vitest';
import { decideRetention, type RetentionPolicy } from '../src/core/retention.js';
import type { RunRecord } from '../src/oplog/run-record.js';
import type { Backup } from '../src/store/manifest.js';

const NOW = new Date('2026-12-06T12:00:00Z');

function backup(id: string, createdAt: string, over: Partial<Backup> = {}): Backup {
  return {
    format: 1,
    id,
    database: 'app',
    engine: 'sqlite',
    source: '/p/app.db',
    kind: 'pre-run',
    createdAt,
    durationMs: 1,
    file: 'snapshot.sqlite',
    size: 100,
    sha256: 'x',
    facts: { tables: [], check: { level: 'quick', result: 'ok' } },
    safeRunVersion: '0',
    path: `/s/app/${id}/snapshot.sqlite`,
    ...over,
  };
}

function run(id: string, kind: RunRecord['kind'], backups: Backup[], startedAt = '2026-01-01T00:00:00Z'): RunRecord {
  return {
    id, kind, status: 'succeeded', argv: [], cwd: '/', user: 'u', host: 'h', pid: 1, safeRunVersion: '0', databases: ['app'], startedAt,
    backups: backups.map((b) => ({ id: b.id, database: b.database, source: b.source, path: b.path, sha256: b.sha256, size: b.size })),
  };
}

/** One backup a day at noon for `days` days before NOW, newest last, ids d01… */
function daily(days: number, db = 'app'): Backup[] {
  return Array.from({ length: days }, (_, i) => {
    const t = new Date(NOW.getTime() - (days - i) * 86_400_000);
    return backup(`${db}-d${String(i + 1).padStart(2, '0')}`, t.toISOString(), { database: db, source: `/p/${db}.db` });
  });
}

function kept(backups: Backup[], policy: RetentionPolicy, opts: { runs?: RunRecord[]; pinned?: string[] } = {}): string[] {
  const { decisions } = decideRetention({ backups, runs: opts.runs ?? [], pinned: new Set(opts.pinned ?? []), policy, now: NOW });
  return decisions.filter((d) => d.keep).map((d) => d.backup.id);
}

describe('retention decisions', () => {
  const ten = daily(10);
  it.each<[string, RetentionPolicy, string[]]>([
    ['keep-last keeps the N newest', { keepLast: 3 }, ['app-d08', 'app-d09', 'app-d10']],
    ['keep-daily keeps the newest of each of the last N days', { keepDaily: 2 }, ['app-d09', 'app-d10']],
    ['keep-weekly keeps the newest of each ISO week (Monday to Sunday)', { keepWeekly: 2 }, ['app-d04', 'app-d10']],
    ['max-age keeps what is younger', { maxAge: 3.5 * 86_400_000 }, ['app-d08', 'app-d09', 'app-d10']],
    ['rules combine as a union', { keepLast: 1, maxAge: 2.5 * 86_400_000 }, ['app-d09', 'app-d10']],
    ['max-size alone removes the oldest until it fits', { maxSize: 450 }, ['app-d07', 'app-d08', 'app-d09', 'app-d10']],
  ])('%s', (_name, policy, expected) => {
    expect(kept(ten, policy)).toEqual(expected);
  });

  it('counts buckets that have a backup, skipping empty days (restic)', () => {
    const sparse = [backup('a', '2026-11-01T10:00:00Z'), backup('b', '2026-11-20T10:00:00Z'), backup('c', '2026-11-20T11:00:00Z'), backup('d', '2026-12-05T10:00:00Z')];
    expect(kept(sparse, { keepDaily: 3 })).toEqual(['a', 'c', 'd']);
  });

  it('keeps manual backups whatever the policy, without using up keep-last', () => {
    const bs = [backup('m1', '2026-11-01T00:00:00Z', { kind: 'manual' }), ...daily(3), backup('m2', '2026-12-06T11:00:00Z', { kind: 'manual' })];
    const { decisions } = decideRetention({ backups: bs, runs: [], pinned: new Set(), policy: { keepLast: 1 }, now: NOW });
    expect(decisions.filter((d) => d.keep).map((d) => d.backup.id)).toEqual(['m1', 'app-d03', 'm2']);
    expect(decisions.find((d) => d.backup.id === 'm1')!.reasons).toContain('manual');
  });

  it('keeps pinned backups, the newest verified one, the newest run and the newest restore', () => {
    const bs = daily(6);
    const [d1, d2, d3, , , d6] = bs;
    // d6 does not verify: the newest verified is d5.
    d6!.facts = { ...d6!.facts, check: { level: 'quick', result: 'page 2: corrupt' } };
    const runs = [run('r-restore', 'restore', [d2!]), run('r-run', 'run', [d3!], '2026-02-01T00:00:00Z')];
    const { decisions } = decideRetention({ backups: bs, runs, pinned: new Set([d1!.id]), policy: { keepLast: 1 }, now: NOW });
    const why = Object.fromEntries(decisions.map((d) => [d.backup.id, d.keep ? d.reasons.join(', ') : 'gone']));
    expect(why).toEqual({
      'app-d01': 'pinned',
      'app-d02': 'newest restore',
      'app-d03': 'newest run',
      'app-d04': 'gone',
      'app-d05': 'newest verified',
      'app-d06': 'last 1',
    });
  });

  it('decides per database', () => {
    expect(kept([...daily(3, 'a'), ...daily(3, 'b')], { keepLast: 1 })).toEqual(['a-d03', 'b-d03']);
  });

  it('never removes a protected backup to meet max-size, and says it cannot be met', () => {
    const bs = daily(4);
    const result = decideRetention({ backups: bs, runs: [], pinned: new Set(['app-d01']), policy: { maxSize: 150 }, now: NOW });
    expect(result.decisions.filter((d) => d.keep).map((d) => d.backup.id)).toEqual(['app-d01', 'app-d04']);
    expect(result.overSize).toEqual({ keptBytes: 200, maxSize: 150 });
  });

  it('says which rule would have kept nothing', () => {
    const { decisions } = decideRetention({ backups: daily(3), runs: [], pinned: new Set(), policy: { keepLast: 1 }, now: NOW });
    expect(decisions[0]!.reasons).toEqual(['no rule keeps it']);
  });
});
