// Which backups a retention policy keeps, and why: a pure function of the store, the log and the clock.
//
// The count and age rules have restic's meaning (`restic forget`): each is a reason to keep a backup,
// and a backup goes only when no rule and no protection keeps it. They apply per database, to its
// automatic backups (pre-run, pre-restore, startup, scheduled, shutdown); manual ones are always kept and do not use up a count.
import type { RunRecord } from '../oplog/run-record.js';
import type { Backup } from '../store/manifest.js';

export interface RetentionPolicy {
  keepLast?: number;
  keepHourly?: number;
  keepDaily?: number;
  keepWeekly?: number;
  keepMonthly?: number;
  keepYearly?: number;
  /** Keep backups younger than this many ms (restic's --keep-within). */
  maxAge?: number;
  /** Then remove the oldest removable backups until the store holds at most this many bytes. */
  maxSize?: number;
}

export interface RetentionDecision {
  backup: Backup;
  keep: boolean;
  /** Why it is kept ("last 10", "daily 2026-12-06", "pinned", …), or why it goes. */
  reasons: string[];
}

export interface RetentionResult {
  decisions: RetentionDecision[];
  /** Set when `maxSize` cannot be met without removing protected or rule-kept backups. */
  overSize?: { keptBytes: number; maxSize: number };
}

export interface RetentionInput {
  backups: Backup[];
  runs: RunRecord[];
  /** Ids of pinned backups. */
  pinned: ReadonlySet<string>;
  policy: RetentionPolicy;
  now: Date;
}

/** Bucket keys in UTC, so that a decision does not depend on the machine's time zone. */
const BUCKETS = [
  ['keepHourly', 'hourly', (d: Date) => d.toISOString().slice(0, 13)],
  ['keepDaily', 'daily', (d: Date) => d.toISOString().slice(0, 10)],
  ['keepWeekly', 'weekly', isoWeek],
  ['keepMonthly', 'monthly', (d: Date) => d.toISOString().slice(0, 7)],
  ['keepYearly', 'yearly', (d: Date) => d.toISOString().slice(0, 4)],
] as const;

/** Whether the policy has a rule that can remove anything. */
export function hasRule(p: RetentionPolicy): boolean {
  return hasKeepRule(p) || p.maxSize !== undefined;
}

function hasKeepRule(p: RetentionPolicy): boolean {
  return [p.keepLast, p.keepHourly, p.keepDaily, p.keepWeekly, p.keepMonthly, p.keepYearly, p.maxAge].some((v) => v !== undefined);
}

export function decideRetention({ backups, runs, pinned, policy, now }: RetentionInput): RetentionResult {
  const reasons = new Map<string, string[]>(backups.map((b) => [b.id, []]));
  const add = (b: Backup, why: string) => reasons.get(b.id)!.push(why);
  const protectedIds = new Set<string>();
  const protect = (b: Backup, why: string) => {
    protectedIds.add(b.id);
    add(b, why);
  };
  const newestFirst = [...backups].sort((a, b) => b.createdAt.localeCompare(a.createdAt) || b.id.localeCompare(a.id));
  const byId = new Map(backups.map((b) => [b.id, b]));

  for (const b of newestFirst) {
    if (b.kind === 'manual') protect(b, 'manual');
    if (pinned.has(b.id)) protect(b, 'pinned');
  }
  for (const db of new Set(backups.map((b) => b.database))) {
    const mine = newestFirst.filter((b) => b.database === db);
    const newestVerified = mine.find((b) => /^ok\b/.test(b.facts.check.result));
    if (newestVerified) protect(newestVerified, 'newest verified');
    // The newest guarded run and the newest restore on this database: the ones a user reaches for first.
    const ofRuns = (kinds: string[]) => [...runs].reverse().find((r) => kinds.includes(r.kind) && r.backups.some((x) => x.database === db && byId.has(x.id)));
    const run = ofRuns(['run', 'library']);
    for (const ref of run?.backups ?? []) if (ref.database === db && byId.has(ref.id)) protect(byId.get(ref.id)!, 'newest run');
    const restore = ofRuns(['restore', 'rollback']);
    for (const ref of restore?.backups ?? []) if (ref.database === db && byId.has(ref.id)) protect(byId.get(ref.id)!, 'newest restore');

    const automatic = mine.filter((b) => b.kind !== 'manual');
    automatic.slice(0, policy.keepLast ?? 0).forEach((b) => add(b, `last ${policy.keepLast}`));
    for (const [key, label, bucketOf] of BUCKETS) {
      let left = policy[key] ?? 0;
      let last: string | undefined;
      for (const b of automatic) {
        if (left <= 0) break;
        const bucket = bucketOf(new Date(b.createdAt));
        if (bucket === last) continue;
        last = bucket;
        left--;
        add(b, `${label} ${bucket}`);
      }
    }
    if (policy.maxAge !== undefined) {
      for (const b of automatic) if (now.getTime() - Date.parse(b.createdAt) < policy.maxAge) add(b, 'within max-age');
    }
    // Only a size limit: every backup is kept by default, and the limit alone decides.
    if (!hasKeepRule(policy)) for (const b of automatic) add(b, 'no count or age rule');
  }

  const keep = new Set(backups.filter((b) => reasons.get(b.id)!.length > 0).map((b) => b.id));
  let overSize: RetentionResult['overSize'];
  if (policy.maxSize !== undefined) {
    let total = backups.filter((b) => keep.has(b.id)).reduce((n, b) => n + sizeOf(b), 0);
    // Oldest first, among the kept backups that no protection holds.
    for (const b of [...newestFirst].reverse()) {
      if (total <= policy.maxSize) break;
      if (!keep.has(b.id) || protectedIds.has(b.id)) continue;
      keep.delete(b.id);
      total -= sizeOf(b);
      reasons.set(b.id, []);
      add(b, `over max-size`);
    }
    if (total > policy.maxSize) overSize = { keptBytes: total, maxSize: policy.maxSize };
  }
  const decisions = backups.map((b) => {
    const why = reasons.get(b.id)!;
    const kept = keep.has(b.id);
    return { backup: b, keep: kept, reasons: kept ? why : why.length > 0 ? why : ['no rule keeps it'] };
  });
  return { decisions, overSize };
}

function sizeOf(b: Backup): number {
  return (b.files ?? [{ size: b.size }]).reduce((n, f) => n + f.size, 0);
}

/** ISO 8601 week, "2026-W49", as restic buckets weekly snapshots. */
function isoWeek(d: Date): string {
  const t = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate()));
  const day = t.getUTCDay() || 7;
  t.setUTCDate(t.getUTCDate() + 4 - day);
  const yearStart = Date.UTC(t.getUTCFullYear(), 0, 1);
  const week = Math.ceil(((t.getTime() - yearStart) / 86_400_000 + 1) / 7);
  return `${t.getUTCFullYear()}-W${String(week).padStart(2, '0')}`;
}
