// Before a backup is removed: the pages it holds that other backups still use move into one of those.
import { randomBytes } from 'node:crypto';
import { promises as fs, constants as fsc } from 'node:fs';
import path from 'node:path';
import { fsyncDir, tempName, writeFileAtomic } from '../../files/durable.js';
import { sha256File } from '../../files/sha256.js';
import { MANIFEST, type BackupFile, type BackupManifest } from '../manifest.js';
import { HASH_BYTES, pageHasher } from './page-hash.js';
import { encodeHashList, INDEX_FILE, readHashList } from './page-files.js';
import { backupDirs, keyOf, openPack, PageLocator, packsOf, type Pack, type PageLocation } from './packs.js';
import { pauseForTest } from './test-pause.js';

/**
 * Before the backup in `dir` is removed, give the pages of it that other backups of its database use
 * (and no other backup holds) to the newest of those backups, the heir. Each pack of it that holds such
 * pages is hard-linked into the heir's directory as `moved-<random>.pack` with its hash list as
 * `moved-<random>.hashes`: no byte is copied, so this works on a full disk too (a prune is what frees
 * it). Where hard links are refused, only the pages needed are copied into a new pack instead. Either
 * way each file is made under a temp name, fsynced and renamed, the hash list last (a pack is one only
 * once its hash list is there): a kill leaves the pages in both places or in the old one only, and every
 * listed backup restorable. Called with the database's lock held; returns the bytes given to the heir.
 */
export async function rescuePages(dir: string, m: BackupManifest): Promise<number> {
  const mine = await packsOf(dir, m);
  if (mine.length === 0) return 0;
  const ours = new PageLocator();
  for (const p of mine) ours.add(p);
  const others = (await backupDirs(path.dirname(dir))).filter((b) => b.dir !== dir);
  const elsewhere = new PageLocator();
  for (const b of others) for (const p of await packsOf(b.dir, b.manifest)) elsewhere.add(p);

  const needed = new Map<string, PageLocation>();
  let heir: (typeof others)[number] | undefined;
  for (const b of others) {
    if (!b.manifest.pages) continue; // a full backup holds all of its own pages
    const list = await readHashList(path.join(b.dir, INDEX_FILE)).catch(() => undefined);
    if (!list) continue;
    let uses = false;
    for (let i = 0; i < list.count; i++) {
      if (elsewhere.find(list.hashes, i)) continue;
      const at = ours.find(list.hashes, i);
      if (!at) continue;
      uses = true;
      needed.set(keyOf(list.hashes, i), at);
    }
    if (uses && (!heir || b.manifest.createdAt.localeCompare(heir.manifest.createdAt) >= 0)) heir = b;
  }
  if (!heir || needed.size === 0) return 0;
  const packs = mine.filter((p) => [...needed.values()].some((at) => at.pack === p));
  const linked = await linkPacks(heir.dir, packs).catch(() => undefined);
  if (linked) {
    await pauseForTest('prune-pages-hashes-renamed');
    await listInManifest(heir.dir, heir.manifest, linked.flatMap((l) => [{ name: l.pack, ...recorded(m, l.from.data) }, { name: l.hashes, ...recorded(m, l.from.hashFile) }])).catch(() => undefined);
    await pauseForTest('prune-pages-moved');
    return linked.reduce((n, l) => n + l.from.count * l.from.pageSize, 0);
  }
  return copyNeeded(heir, mine, needed);
}

/** Link each pack (its pages, its hash list) into `heirDir` under new names; undefined-free or throws. */
async function linkPacks(heirDir: string, packs: Pack[]): Promise<Array<{ from: Pack; pack: string; hashes: string }>> {
  // A file system without hard links, for the tests of the copying fallback.
  if (process.env.SAFE_RUN_TEST_NO_HARDLINKS === '1') throw new Error('hard links turned off');
  const made: string[] = [];
  const out: Array<{ from: Pack; pack: string; hashes: string }> = [];
  try {
    for (const p of packs) {
      // A damaged hash list is never carried over: the copy below writes a sound one.
      if (p.derived) throw new Error(`${p.hashFile} is damaged`);
      // Only regular files: a link put in a pack's place is never carried into another backup.
      for (const f of [p.data, p.hashFile]) if (!(await fs.lstat(f)).isFile()) throw new Error(`${f} is not a regular file`);
      const name = `moved-${randomBytes(8).toString('hex')}`;
      const packTmp = path.join(heirDir, tempName(`${name}.pack`));
      const hashesTmp = path.join(heirDir, tempName(`${name}.hashes`));
      await fs.link(p.data, packTmp);
      made.push(packTmp);
      await fs.link(p.hashFile, hashesTmp);
      made.push(hashesTmp);
      await fs.rename(packTmp, path.join(heirDir, `${name}.pack`));
      made.push(path.join(heirDir, `${name}.pack`));
      await fsyncDir(heirDir);
      await pauseForTest('prune-pages-pack-renamed');
      await fs.rename(hashesTmp, path.join(heirDir, `${name}.hashes`));
      await fsyncDir(heirDir);
      made.length = 0; // this pack is the heir's now
      out.push({ from: p, pack: `${name}.pack`, hashes: `${name}.hashes` });
    }
    return out;
  } catch (err) {
    for (const f of made) await fs.rm(f, { force: true }).catch(() => undefined);
    throw err;
  }
}

/** Size and sha256 of one of the backup's own files, when its manifest records them. */
function recorded(m: BackupManifest, file: string): { size?: number; sha256?: string } {
  const name = path.basename(file);
  const f = (m.files ?? [{ name: m.file, size: m.size, sha256: m.sha256 }]).find((x) => x.name === name);
  return f ? { size: f.size, sha256: f.sha256 } : {};
}

/** The fallback without hard links: the needed pages copied into one new pack, each checked against its hash. */
async function copyNeeded(heir: { dir: string; manifest: BackupManifest }, mine: Pack[], needed: Map<string, PageLocation>): Promise<number> {
  const pageSize = mine[0]!.pageSize;
  const name = `moved-${randomBytes(8).toString('hex')}`;
  const packTmp = path.join(heir.dir, tempName(`${name}.pack`));
  const hashesTmp = path.join(heir.dir, tempName(`${name}.hashes`));
  // In the order of the old packs, so that they are read front to back.
  const order = [...needed.entries()].sort(([, a], [, b]) => a.pack.data.localeCompare(b.pack.data) || a.slot - b.slot);
  const hashes = Buffer.alloc(order.length * HASH_BYTES);
  const hash = await pageHasher();
  let moved = 0;
  try {
    const out = await fs.open(packTmp, fsc.O_WRONLY | fsc.O_CREAT | fsc.O_EXCL, 0o600);
    try {
      const handles = new Map<string, fs.FileHandle | undefined>();
      const page = Buffer.allocUnsafe(pageSize);
      try {
        for (const [key, at] of order) {
          let fh = handles.get(at.pack.data);
          if (fh === undefined && !handles.has(at.pack.data)) handles.set(at.pack.data, (fh = await openPack(at.pack.data).catch(() => undefined)));
          // A page that no longer reads as its hash (a damaged pack, a link in its place) is not
          // carried over: the backups using it were damaged already, and verify says so.
          const read = fh ? (await fh.read(page, 0, pageSize, at.slot * pageSize)).bytesRead : 0;
          if (read !== pageSize || hash(page).toString('latin1') !== key) continue;
          await out.write(page, 0, pageSize, moved * pageSize);
          Buffer.from(key, 'latin1').copy(hashes, moved * HASH_BYTES);
          moved++;
        }
      } finally {
        for (const fh of handles.values()) await fh?.close();
      }
      await out.sync();
    } finally {
      await out.close();
    }
    if (moved === 0) {
      await fs.rm(packTmp, { force: true });
      return 0;
    }
    await fs.writeFile(hashesTmp, await encodeHashList({ pageSize, count: moved, hashes }), { mode: 0o600, flag: 'wx' });
    const fh = await fs.open(hashesTmp, 'r');
    await fh.sync().finally(() => fh.close());
    await fs.rename(packTmp, path.join(heir.dir, `${name}.pack`));
    await fsyncDir(heir.dir);
    await pauseForTest('prune-pages-pack-renamed');
    await fs.rename(hashesTmp, path.join(heir.dir, `${name}.hashes`));
    await fsyncDir(heir.dir);
  } catch (err) {
    await fs.rm(packTmp, { force: true });
    await fs.rm(hashesTmp, { force: true });
    throw err;
  }
  await pauseForTest('prune-pages-hashes-renamed');
  await listInManifest(heir.dir, heir.manifest, [{ name: `${name}.pack` }, { name: `${name}.hashes` }]).catch(() => undefined);
  await pauseForTest('prune-pages-moved');
  return moved * pageSize;
}

/**
 * Name the moved files in the heir's manifest (one atomic rewrite), so that its size counts them and
 * verify re-hashes them with the rest of its files. Best effort: a kill before this, or a disk too full
 * for the new manifest, leaves them unnamed but used: packs are found by their names in the directory,
 * not through the manifest.
 */
async function listInManifest(dir: string, m: BackupManifest, entries: Array<{ name: string; size?: number; sha256?: string }>): Promise<void> {
  const added: BackupFile[] = [];
  for (const e of entries) {
    const file = path.join(dir, e.name);
    added.push({ name: e.name, size: e.size ?? (await fs.stat(file)).size, sha256: e.sha256 ?? (await sha256File(file)) });
  }
  const files = [...(m.files ?? []), ...added];
  await writeFileAtomic(path.join(dir, MANIFEST), JSON.stringify({ ...m, files }, null, 2) + '\n');
}


/**
 * What killed prunes left in the backup directories of `dbDir`: temp files, and packs without their hash
 * list. Both are inert (never listed, never read as packs), so they are removed by the next prune of
 * the database (BackupStore.remove) rather than on every run, which would read every backup directory.
 */
export async function removePageLeftovers(dbDir: string): Promise<void> {
  for (const b of await backupDirs(dbDir)) {
    const names = await fs.readdir(b.dir).catch(() => [] as string[]);
    for (const n of names) {
      const stale = (/^\.moved-[0-9a-f]{16}\.(pack|hashes)\.tmp-/.test(n)) || (/^moved-[0-9a-f]{16}\.pack$/.test(n) && !names.includes(n.replace(/\.pack$/, '.hashes')));
      if (stale) await fs.rm(path.join(b.dir, n), { force: true });
    }
  }
}
