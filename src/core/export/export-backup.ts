// Export a backup's tables as CSV files: checked backup → temp directory → counted back → renamed into place.
import { promises as fs, constants as fsc } from 'node:fs';
import path from 'node:path';
import type { DatabaseConfig } from '../../config.js';
import { describeCause, SafeRunError } from '../../errors.js';
import { fsyncDir, fsyncPath, tempName } from '../../files/durable.js';
import { sha256File } from '../../files/sha256.js';
import { filesOf, type Backup } from '../../store/manifest.js';
import { VERSION } from '../../version.js';
import { engineForBackup } from '../context.js';
import { withPlainSnapshot } from '../plain-snapshot.js';
import { CONVENTIONS, exportReadme, type ExportManifest } from './export-readme.js';
import { countCsvRecords, writeTableCsv } from './table-csv.js';
import { writeZip } from './zip-directory.js';

export interface ExportRequest {
  backup: Backup;
  /** Absolute path of the directory (or, with `zip`, the .zip file) to create; it must not exist. */
  out: string;
  zip: boolean;
  configured?: DatabaseConfig[];
  /** Called after each table is written. */
  onTable?: (table: string, rows: number) => void;
}

export interface ExportResult {
  out: string;
  zip: boolean;
  manifest: ExportManifest;
}

/**
 * Nothing is ever half there: the files are written and checked in a temp directory beside `out`,
 * which becomes `out` in one rename (or is zipped to a temp file that is linked into place). An
 * existing `out` is never overwritten. Rejects with a SafeRunError: 'usage' (out exists, an engine that
 * cannot export), 'export' (the backup's file is not what its manifest says, a write failed, a CSV
 * does not read back with its row count).
 */
export async function exportBackup(req: ExportRequest): Promise<ExportResult> {
  const { backup, out } = req;
  const engine = await engineForBackup(backup.engine, backup.database, backup.source, { configured: req.configured });
  if (!engine.openExport) {
    throw new SafeRunError('usage', `cannot export ${backup.database}: safe-run cannot export ${engine.kind} backups yet`, {
      backupId: backup.id,
      hint: 'only SQLite backups can be exported for now',
    });
  }
  await refuseExisting(out);
  // The files as stored (a page backup's page list and pack; its pages are checked as they are reassembled).
  await checkStoredFiles(backup, filesOf(backup).map((f) => ({ path: path.join(path.dirname(backup.path), f.name), sha256: f.sha256 })));
  const parent = path.dirname(out);
  const tmp = path.join(parent, tempName(path.basename(out)));
  const tmpZip = req.zip ? path.join(parent, tempName(path.basename(out))) : undefined;
  let claimed = false;
  try {
    // Private, like the store: an export holds the database's data. Its owner shares it on purpose.
    await fs.mkdir(tmp, { mode: 0o700 });
    const openExport = engine.openExport.bind(engine);
    const tables: ExportManifest['tables'] = [];
    // A compressed backup is decompressed into the store for the length of the export.
    const schema = await withPlainSnapshot(backup, async (plain) => {
      const source = await openExport(plain);
      try {
        const names = new Set<string>();
        for (const table of source.tables) {
          const file = csvName(table.name, names);
          const rows = await writeTableCsv(table, path.join(tmp, file));
          tables.push({ name: table.name, file, columns: table.columns, rows, size: 0, sha256: '' });
          req.onTable?.(table.name, rows);
        }
        return source.schema;
      } finally {
        await source.close();
      }
    });
    for (const t of tables) {
      const file = path.join(tmp, t.file);
      // Read back as a reader would: a quoting bug or a short write shows as a different count.
      const counted = await countCsvRecords(file);
      if (counted !== t.rows) {
        throw new SafeRunError('export', `export of ${backup.database}: ${t.file} reads back as ${counted} rows, ${t.rows} were written`, {
          backupId: backup.id,
          hint: 'this is a bug in safe-run; nothing was written at the destination; report it with --debug output',
        });
      }
      await fsyncPath(file);
      t.sha256 = await sha256File(file);
      t.size = (await fs.stat(file)).size;
    }
    const manifest: ExportManifest = {
      format: 1,
      exportedAt: new Date().toISOString(),
      safeRunVersion: VERSION,
      source: { backupId: backup.id, database: backup.database, engine: backup.engine, createdAt: backup.createdAt, sha256: backup.sha256 },
      conventions: CONVENTIONS,
      tables,
      schema,
    };
    await fs.writeFile(path.join(tmp, 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n', { flag: 'wx', mode: 0o600 });
    await fs.writeFile(path.join(tmp, 'README.txt'), exportReadme(manifest), { flag: 'wx', mode: 0o600 });
    for (const name of ['manifest.json', 'README.txt']) await fsyncPath(path.join(tmp, name));
    await fsyncDir(tmp);
    if (tmpZip) {
      await writeZip(tmp, ['README.txt', 'manifest.json', ...tables.map((t) => t.file)], tmpZip);
      await fsyncPath(tmpZip);
      // link() fails if `out` appeared meanwhile: never overwritten, not even in a race.
      await fs.link(tmpZip, out).catch(raceLost(out));
    } else {
      // Claim the name with an exclusive mkdir, then rename over the empty directory we just made.
      await fs.mkdir(out, { mode: 0o700 }).catch(raceLost(out));
      claimed = true;
      await fs.rename(tmp, out);
    }
    await fsyncDir(parent);
    return { out, zip: req.zip, manifest };
  } catch (err) {
    if (claimed) await fs.rmdir(out).catch(() => undefined);
    throw err instanceof SafeRunError ? err : writeFailed(backup, out, err);
  } finally {
    await fs.rm(tmp, { recursive: true, force: true }).catch(() => undefined);
    if (tmpZip) await fs.rm(tmpZip, { force: true }).catch(() => undefined);
  }
}

async function refuseExisting(out: string): Promise<void> {
  if (await fs.lstat(out).then(() => true, () => false)) throw exists(out);
}

function exists(out: string): SafeRunError {
  return new SafeRunError('usage', `${out} already exists; an export never overwrites anything`, {
    hint: 'give another place with --out, or move the old export aside',
  });
}

function raceLost(out: string) {
  return (err: NodeJS.ErrnoException) => {
    throw err.code === 'EEXIST' ? exists(out) : err;
  };
}

/**
 * The stored files must be plain files with the sha256 the manifest recorded: a file replaced by a
 * symbolic link (to another database, say) or changed since is refused, not exported.
 */
async function checkStoredFiles(backup: Backup, files: Array<{ path: string; sha256: string }>): Promise<void> {
  for (const f of files) {
    const st = await fs.lstat(f.path).catch(() => undefined);
    const problem = !st
      ? 'is missing'
      : st.isSymbolicLink()
        ? 'has been replaced by a symbolic link'
        : !st.isFile()
          ? 'is not a regular file'
          : (await fs.access(f.path, fsc.R_OK).then(() => sha256File(f.path), () => 'unreadable')) !== f.sha256
            ? 'does not match its recorded sha256'
            : undefined;
    if (problem) {
      throw new SafeRunError('export', `backup ${backup.id} of ${backup.database}: its file ${f.path} ${problem}; nothing was exported`, {
        backupId: backup.id,
        database: backup.database,
        hint: 'export another backup (see: safe-run list); do not trust this one before checking it',
      });
    }
  }
}

/** A file name for a table: letters, digits, '.', '-' and '_' kept, anything else '_', made unique. */
function csvName(table: string, taken: Set<string>): string {
  const base = table.replace(/[^\p{L}\p{N}._-]/gu, '_').replace(/^\.+/, '_').slice(0, 100) || 'table';
  let name = `${base}.csv`;
  for (let i = 2; taken.has(name.toLowerCase()) || name === 'manifest.json'; i++) name = `${base}-${i}.csv`;
  taken.add(name.toLowerCase());
  return name;
}

function writeFailed(backup: Backup, out: string, err: unknown): SafeRunError {
  const code = (err as NodeJS.ErrnoException).code;
  const hint =
    code === 'ENOSPC' || code === 'EDQUOT'
      ? `free space in ${path.dirname(out)}, or give --out on a disk with room`
      : code === 'EACCES' || code === 'EPERM' || code === 'EROFS'
        ? `make ${path.dirname(out)} writable, or give --out elsewhere`
        : 'run again with --debug for details';
  return new SafeRunError('export', `cannot export ${backup.database} to ${out}: ${describeCause(err)}; nothing was left there`, {
    backupId: backup.id,
    database: backup.database,
    hint,
    cause: err,
  });
}
