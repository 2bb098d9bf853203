// safe-run init: write safe-run.config.json for this project, with retention, and ignore what is local.
import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import { CONFIG_FILE, defaultName, DEFAULTS, findConfigFile, RETENTION_DEFAULTS } from '../../config.js';
import { SafeRunError } from '../../errors.js';
import { many, parse } from '../args.js';
import { COMMAND_OPTIONS } from '../options.js';
import { contextDirectory } from '../setup.js';

export const help = `safe-run init — write safe-run.config.json for this project

Usage: safe-run init [--db PATH]...

  --db PATH        a database to name in the config (repeatable); without
                   it, init looks for *.db, *.sqlite, *.sqlite3 and *.duckdb
                   files under the project (not in node_modules, .git, backups)
  -C DIR           the project's directory (default: this one)

Writes the config with the databases and a retention policy (the 10 newest
automatic backups, one a day for 7 days, one a week for 4 weeks; manual
ones always kept), and adds the store, the log and lock files to
.gitignore. It never overwrites a config.
Exit codes: 0 written, 2 a config exists already, or bad arguments.`;

/** The lines the README recommends; each is added to .gitignore unless it is there already. */
const IGNORED = ['/backups/', '/logs/', '*.safe-run-lock', '*.safe-run-lock.json'];
const SKIPPED = new Set(['node_modules', '.git', 'backups', 'logs', 'dist']);
const DATABASE_FILE = /\.(db|sqlite|sqlite3|duckdb)$/i;

export async function run(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, COMMAND_OPTIONS.init, 'init');
  if (positionals.length > 0) throw new SafeRunError('usage', `init: unexpected "${positionals[0]}"`, { hint: 'name databases with --db PATH' });
  const dir = contextDirectory(values.directory);
  const file = values.config ? path.resolve(dir, values.config) : path.join(dir, CONFIG_FILE);
  const existing = existsSync(file) ? file : values.config ? undefined : findConfigFile(dir);
  if (existing) {
    throw new SafeRunError('config', `a config exists already: ${existing}; it was left as it is`, {
      hint: 'edit it (see the README\'s "Configuration" and "Retention"), or move it aside and run init again',
    });
  }
  const found = many(values.db).length > 0 ? many(values.db) : await findDatabases(dir);
  const base = path.dirname(file);
  const names = new Set<string>();
  const databases = found.map((p) => {
    let name = defaultName(p);
    for (let i = 2; names.has(name); i++) name = `${defaultName(p)}-${i}`;
    names.add(name);
    const rel = path.relative(base, path.resolve(dir, p));
    return { name, url: rel.startsWith('..') ? path.resolve(dir, p) : rel };
  });
  const config = { databases, backupDir: DEFAULTS.backupDir, logFile: DEFAULTS.logFile, retention: RETENTION_DEFAULTS };
  // 'wx': created only if absent, so a config written meanwhile by someone else is never overwritten.
  await fs.writeFile(file, JSON.stringify(config, null, 2) + '\n', { flag: 'wx', mode: 0o644 }).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'EEXIST') throw new SafeRunError('config', `a config exists already: ${file}; it was left as it is`, { hint: 'edit it, or move it aside and run init again' });
    throw err;
  });
  const added = await ignoreLocalFiles(path.join(base, '.gitignore'));
  const out = process.stderr;
  out.write(`wrote     ${path.relative(dir, file) || file}: ${databases.length === 0 ? 'no databases yet' : databases.map((d) => `${d.name} (${d.url})`).join(', ')}\n`);
  out.write(`retention keep the 10 newest, one a day for 7 days, one a week for 4 weeks; after every run\n`);
  out.write(`.gitignore ${added.length > 0 ? `added ${added.join(' ')}` : 'already ignores the store, the log and the locks'}\n`);
  out.write(`next      ${databases.length === 0 ? `add your databases to ${CONFIG_FILE}, then ` : ''}safe-run -- <your script>\n`);
  return 0;
}

/** SQLite- and DuckDB-looking files under `dir`, relative, sorted; a few levels deep is where projects keep them. */
async function findDatabases(dir: string, depth = 4, rel = ''): Promise<string[]> {
  if (depth < 0) return [];
  const found: string[] = [];
  const entries = await fs.readdir(path.join(dir, rel), { withFileTypes: true }).catch(() => []);
  for (const e of entries.sort((a, b) => a.name.localeCompare(b.name))) {
    const p = path.join(rel, e.name);
    if (e.isDirectory() && !SKIPPED.has(e.name) && !e.name.startsWith('.')) found.push(...(await findDatabases(dir, depth - 1, p)));
    else if (e.isFile() && DATABASE_FILE.test(e.name)) found.push(p);
  }
  return found;
}

/** Append the lines .gitignore lacks (exactly as the README gives them); the ones added. */
async function ignoreLocalFiles(file: string): Promise<string[]> {
  const text = await fs.readFile(file, 'utf8').catch(() => '');
  const have = new Set(text.split(/\r?\n/).map((l) => l.trim()));
  const missing = IGNORED.filter((l) => !have.has(l));
  if (missing.length === 0) return [];
  const sep = text === '' || text.endsWith('\n') ? '' : '\n';
  const head = have.has('# safe-run') ? '' : '# safe-run\n';
  // Appended, not replaced: the file keeps its mode and whatever an editor has open stays valid.
  await fs.appendFile(file, `${sep}${head}${missing.join('\n')}\n`);
  return missing;
}
