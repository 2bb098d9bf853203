// The repeat backup: a guarded run after an earlier one, once 1 % of the rows were updated (the page store
// keeps only the pages that changed). Called by bench/run.js with its own helpers, so that every figure
// comes from the same run against the same durable copy.
import Database from 'better-sqlite3';
import { fork } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { track } from './lib.js';

const SECTION = 'repeat backup after 1 % of the rows were updated (page store):';

/** Rewrite the payload of 1 % of `items`, picked at random (about 4 % of the pages: ~4 rows a page). */
export function updateOnePercent(file, maxItemId) {
  const db = new Database(file, { fileMustExist: true, timeout: 30_000 });
  try {
    const touch = db.prepare('UPDATE items SET payload = randomblob(length(payload)) WHERE id = ?');
    const n = Math.max(1, Math.round(maxItemId / 100));
    db.transaction(() => {
      for (let i = 0; i < n; i++) touch.run(1 + Math.floor(Math.random() * maxItemId));
    })();
    db.pragma('wal_checkpoint(TRUNCATE)');
    return n;
  } finally {
    db.close();
  }
}

/**
 * RUNS rounds of: empty store, a first guarded run (a full backup), 1 % of the rows updated, a second
 * guarded run (the first repeat backup: it also computes the first backup's page list, once), 1 % more,
 * and a third (a repeat backup in the steady state: the figure), the bytes each added to the store, and a
 * restore of the last; then the same with the live writer committing during the repeat backups. Adds
 * rows to R through `row`.
 */
export async function measureRepeatBackups({ DB, RUNS, dbSize, maxItemId, accounts, writer, project, guardedRun, restoreRun, checkpoint, settle, row, log, waitFor, stopWriter }) {
  const proj = project('repeat');
  const rounds = [];
  const repeat = async (live) => {
    const updated = updateOnePercent(DB, maxItemId);
    await settle();
    let w;
    if (live) {
      w = track(fork(writer, [DB, String(maxItemId), String(accounts)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }));
      await waitFor(w, 'ready', 15_000);
    }
    try {
      const g = await guardedRun(proj, DB);
      const added = (g.backup.files ?? []).reduce((n, f) => n + f.size, 0);
      if (g.backup.pages == null) log(`the repeat backup was stored whole (${g.backup.id}): the page store did not share pages`);
      return { g, updated, added, paged: g.backup.pages != null };
    } finally {
      if (w) await stopWriter(w);
    }
  };
  for (const live of [false, true]) {
    for (let i = 1; i <= RUNS; i++) {
      log(`repeat backups after 1 % of the rows were updated${live ? ', under a live writer' : ''} ${i}/${RUNS}`);
      proj.clear();
      checkpoint(DB);
      await guardedRun(proj, DB);
      const second = await repeat(live);
      const third = await repeat(live);
      const tag = live ? 'Live' : '';
      row(`repeat${tag}Step`, `repeat backup${live ? ' under a live writer' : ''}, steady state (durationMs)`, { section: SECTION }).runs.push(third.g.backup.durationMs);
      row(`repeat${tag}Run`, '  its guarded run (wall)', { section: SECTION }).runs.push(third.g.wallMs);
      row(`repeat${tag}First`, '  the first repeat backup, which indexes the full one (durationMs)', { section: SECTION }).runs.push(second.g.backup.durationMs);
      const round = {
        live,
        rowsUpdated: third.updated,
        stepMs: third.g.backup.durationMs,
        wallMs: third.g.wallMs,
        firstRepeatMs: second.g.backup.durationMs,
        paged: second.paged && third.paged,
        bytesAdded: third.added,
        shareOfDb: third.added / dbSize,
        firstRepeatShareOfDb: second.added / dbSize,
      };
      if (!live) {
        await settle();
        const r = await restoreRun(proj, third.g.backup.id);
        row('repeatRestore', '  restore of that page backup (record durationMs)', { section: SECTION }).runs.push(r.recordMs);
        round.restoreMs = r.recordMs;
      }
      rounds.push(round);
      await sleep(100);
    }
  }
  proj.clear();
  checkpoint(DB);
  return rounds;
}
