// Reassemble a page backup into one file: each page read from the pack that holds it, the whole file
// hashed (sha256) while it is written and checked against the backup's identity.
import { createHash } from 'node:crypto';
import { promises as fs, constants as fsc } from 'node:fs';
import path from 'node:path';
import { checksumMismatch, EngineError } from '../../engines/engine-errors.js';
import { MANIFEST, type BackupManifest } from '../manifest.js';
import { pageHasher } from './page-hash.js';
import { pauseForTest } from './test-pause.js';
import { INDEX_FILE, readHashList, type HashList } from './page-files.js';
import { backupDirs, keyOf, openPack, PageLocator, packsOf, type Pack } from './packs.js';

/** Bytes written at a time. */
const CHUNK = 4 * 1024 * 1024;

const DAMAGED_HINT = 'pick another backup with: safe-run list; safe-run verify names every backup a damaged page belongs to';

/**
 * Write the database file the page backup in `dir` holds to `dest` (which must not exist), fsync it and
 * check its sha256 against the manifest's. Rejects with a 'checksum' EngineError that names the damaged
 * or missing pages and the backups whose packs hold them.
 */
export async function assemblePages(dir: string, m: BackupManifest, dest: string): Promise<{ sha256: string; size: number }> {
  try {
    return await assembleOnce(dir, m, dest, true);
  } catch (err) {
    // A pack that was there when the pages were located is gone: a prune (which does not wait for a
    // restore --into, whose lock is the file it writes) moved its pages into a backup it keeps, or
    // removed this very backup. Locate the pages again, once; a pack still gone then is damage.
    if (!(err instanceof EngineError && (err.cause as NodeJS.ErrnoException | undefined)?.code === 'ENOENT')) throw err;
    await fs.rm(dest, { force: true });
    if (!(await fs.stat(path.join(dir, MANIFEST)).catch(() => undefined))) {
      throw new EngineError('checksum', `backup ${m.id}: it was removed while it was being restored (by a prune run at the same time)`, { hint: 'nothing was changed; pick another backup with: safe-run list' });
    }
    return await assembleOnce(dir, m, dest, false);
  }
}

async function assembleOnce(dir: string, m: BackupManifest, dest: string, first: boolean): Promise<{ sha256: string; size: number }> {
  const { index, locator } = await load(dir, m);
  if (first) await pauseForTest('restore-pages-located');
  const pageSize = index.pageSize;
  const out = await fs.open(dest, fsc.O_WRONLY | fsc.O_CREAT | fsc.O_EXCL, 0o600);
  const sha = createHash('sha256');
  const handles = new Map<string, fs.FileHandle>();
  const open = async (p: Pack) => {
    let fh = handles.get(p.data);
    if (!fh) {
      fh = await openPack(p.data).catch((err: NodeJS.ErrnoException) => {
        throw unreadablePack(m, p, err);
      });
      handles.set(p.data, fh);
    }
    return fh;
  };
  const perChunk = CHUNK / pageSize;
  const buf = Buffer.allocUnsafe(CHUNK);
  try {
    for (let first = 0; first < index.count; first += perChunk) {
      const last = Math.min(index.count, first + perChunk);
      // Runs of pages that sit one after the other in one pack are read in one call.
      for (let i = first; i < last; ) {
        const at = locator.find(index.hashes, i);
        if (!at) throw missingPage(m, i);
        let n = 1;
        while (i + n < last) {
          const next = locator.find(index.hashes, i + n);
          if (next?.pack !== at.pack || next.slot !== at.slot + n) break;
          n++;
        }
        const fh = await open(at.pack);
        const want = n * pageSize;
        const { bytesRead } = await fh.read(buf, (i - first) * pageSize, want, at.slot * pageSize);
        if (bytesRead !== want) throw new EngineError('checksum', `backup ${m.id}: the pack of backup ${at.pack.owner} is shorter than its page list says`, { hint: DAMAGED_HINT });
        i += n;
      }
      const bytes = buf.subarray(0, (last - first) * pageSize);
      sha.update(bytes);
      await out.write(bytes, 0, bytes.length);
    }
    await out.sync();
  } finally {
    await out.close();
    for (const fh of handles.values()) await fh.close();
  }
  const actual = sha.digest('hex');
  if (actual !== m.sha256) throw await damaged(dir, m, index, locator, actual);
  return { sha256: actual, size: index.count * pageSize };
}

async function load(dir: string, m: BackupManifest): Promise<{ index: HashList; locator: PageLocator }> {
  const index = await readHashList(path.join(dir, INDEX_FILE)).catch((err: Error) => {
    throw new EngineError('checksum', `backup ${m.id}: ${err.message}`, { hint: DAMAGED_HINT });
  });
  if (m.pages && (index.pageSize !== m.pages.pageSize || index.count !== m.pages.pageCount)) {
    throw new EngineError('checksum', `backup ${m.id}: its page list does not match its manifest`, { hint: DAMAGED_HINT });
  }
  const locator = new PageLocator();
  // Its own packs first, then every other backup of the database (a page is the same wherever it is:
  // the hash says so, and the whole file's sha256 proves it).
  for (const p of await packsOf(dir, m)) if (p.pageSize === index.pageSize) locator.add(p);
  for (const b of await backupDirs(path.dirname(dir))) {
    if (b.dir === dir) continue;
    for (const p of await packsOf(b.dir, b.manifest)) if (p.pageSize === index.pageSize) locator.add(p);
  }
  return { index, locator };
}

/** A pack that was listed a moment ago cannot be opened: say which, of which backup, and why, in words. */
function unreadablePack(m: BackupManifest, p: Pack, err: NodeJS.ErrnoException): EngineError {
  const why = err.code === 'ENOENT' ? 'is gone' : err.code === 'ELOOP' ? 'is a symbolic link (not followed)' : err.code === 'EACCES' || err.code === 'EPERM' ? 'cannot be read by this user' : `cannot be opened (${err.code ?? err.message})`;
  return new EngineError('checksum', `backup ${m.id}: ${path.basename(p.data)} of backup ${p.owner} ${why}`, { hint: DAMAGED_HINT, cause: err });
}

function missingPage(m: BackupManifest, page: number): EngineError {
  return new EngineError('checksum', `backup ${m.id}: page ${page + 1} is in no stored pack (the backup that held it is gone or damaged)`, { hint: DAMAGED_HINT });
}

/**
 * The whole file did not match: re-hash every page to say which ones are damaged, in whose pack they
 * are stored, and which backups use them (each of those is damaged too).
 */
async function damaged(dir: string, m: BackupManifest, index: HashList, locator: PageLocator, actual: string): Promise<EngineError> {
  const hash = await pageHasher();
  const page = Buffer.allocUnsafe(index.pageSize);
  const bad = new Map<string, string>();
  for (let i = 0; i < index.count && bad.size < 5; i++) {
    const key = keyOf(index.hashes, i);
    const at = locator.find(index.hashes, i)!;
    if (bad.has(key)) continue;
    const fh = await openPack(at.pack.data).catch(() => undefined);
    page.fill(0);
    try {
      await fh?.read(page, 0, index.pageSize, at.slot * index.pageSize);
    } finally {
      await fh?.close();
    }
    if (hash(page).toString('latin1') !== key) bad.set(key, `page ${i + 1} (stored in ${path.basename(at.pack.data)} of backup ${at.pack.owner})`);
  }
  if (bad.size === 0) return checksumMismatch(m.sha256, actual);
  const users = new Set<string>();
  for (const b of await backupDirs(path.dirname(dir))) {
    const list = await readHashList(path.join(b.dir, INDEX_FILE)).catch(() => undefined);
    if (!list) continue;
    for (let i = 0; i < list.count; i++) {
      if (bad.has(keyOf(list.hashes, i))) {
        users.add(b.manifest.id);
        break;
      }
    }
  }
  users.delete(m.id);
  const also = users.size ? `; backups ${[...users].join(', ')} use the same pages` : '';
  return new EngineError('checksum', `backup ${m.id} is damaged: ${[...bad.values()].join(', ')} changed on disk${also}`, { hint: DAMAGED_HINT });
}
