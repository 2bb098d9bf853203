// Small things a new user trips on in the first hour: odd files, odd configs, odd arguments. Each gets
// either the obvious right behaviour or one clear line and the documented exit code.
import { describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { runCli, startCli, tempProject } from './helpers/cli.js';
import { removeLater, tempDir } from './helpers/paste.js';

function project(opts: { rows?: number } = {}) {
  const p = tempProject('safe-run-first-hour-', { rows: opts.rows ?? 5 });
  removeLater(p.dir);
  return p;
}

/** Every file under `dir`, as text, for checking that a secret was written nowhere. */
function allText(dir: string): string {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => readFileSync(path.join(e.parentPath, e.name), 'latin1'))
    .join('\n');
}

async function waitFor(cond: () => boolean, why: string) {
  for (const t0 = Date.now(); !cond(); await new Promise((r) => setTimeout(r, 10))) {
    if (Date.now() - t0 > 20_000) throw new Error(why);
  }
}

describe('a 0-byte database file', () => {
  it('is backed up as the empty database SQLite sees, summarised, and rolled back to 0 bytes', async () => {
    const dir = tempDir('safe-run-empty-');
    const db = path.join(dir, 'empty.db');
    writeFileSync(db, '');
    const run = await runCli(['--db', 'empty.db', '--', 'sqlite3', 'empty.db', 'CREATE TABLE t (x); INSERT INTO t VALUES (1)'], { cwd: dir });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).not.toMatch(/not a database/);
    expect(run.stderr).toMatch(/^changed\s+empty: t \(new table, 1 rows\)$/m);

    const back = await runCli(['rollback', 'last', '--yes'], { cwd: dir });
    expect(back.code, back.stderr).toBe(0);
    expect(statSync(db).size).toBe(0);
  });
});

describe('--wait with a fraction of a second', () => {
  it('says "0.5 s", not "1 s", while waiting and when giving up (exit 125)', async () => {
    const p = project();
    const started = path.join(p.dir, 'started');
    const first = startCli(['--', 'sh', '-c', 'touch "$0" && sleep 4', started], { cwd: p.dir });
    try {
      await waitFor(() => existsSync(started), 'the first run never started its command');
      const second = await runCli(['--wait', '0.5', '--', 'true'], { cwd: p.dir });
      expect(second.code).toBe(125);
      expect(second.stderr).toMatch(/waiting up to 0\.5 s$/m);
      expect(second.stderr).toMatch(/try: waited 0\.\d+ s; /);
      expect(second.stderr).not.toMatch(/\b1 s\b/);
    } finally {
      first.kill('SIGTERM');
    }
  });
});

describe('config files a newcomer writes', () => {
  it('reads a config saved with a UTF-8 byte-order mark', async () => {
    const p = project();
    const file = path.join(p.dir, 'safe-run.config.json');
    writeFileSync(file, `\uFEFF${readFileSync(file, 'utf8')}`);
    const run = await runCli(['--', 'true'], { cwd: p.dir });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toMatch(/backing up app/);
  });

  it('refuses --config DIR in one line that names the file to give: exit 2, or 125 for a guarded run', async () => {
    const p = project();
    const log = await runCli(['log', '--config', p.dir], { cwd: p.dir });
    expect(log.code).toBe(2);
    const expected = `safe-run: cannot read config ${p.dir}: it is a directory\n  try: give the file itself: --config ${path.join(p.dir, 'safe-run.config.json')}\n`;
    expect(log.stderr).toBe(expected);
    const run = await runCli(['--config', p.dir, '--', 'true'], { cwd: p.dir });
    expect(run.code).toBe(125);
    expect(run.stderr).toMatch(/^safe-run: cannot read config .*: it is a directory$/m);
  });

  it('expands "~/" in logFile and backupDir to the home directory instead of making a "~" directory', async () => {
    const p = project();
    const home = tempDir('safe-run-home-');
    writeFileSync(path.join(p.dir, 'safe-run.config.json'), JSON.stringify({ databases: ['data/app.db'], logFile: '~/sr/ops.json', backupDir: '~/sr/backups' }));
    const run = await runCli(['--', 'true'], { cwd: p.dir, env: { HOME: home } });
    expect(run.code, run.stderr).toBe(0);
    expect(existsSync(path.join(p.dir, '~'))).toBe(false);
    expect(existsSync(path.join(home, 'sr', 'ops.json'))).toBe(true);
    expect(readdirSync(path.join(home, 'sr', 'backups'))).toEqual(['app']);
  });

  it('refuses "~user/…" in one line rather than guess: exit 2', async () => {
    const p = project();
    writeFileSync(path.join(p.dir, 'safe-run.config.json'), JSON.stringify({ databases: ['data/app.db'], logFile: '~bob/ops.json' }));
    const r = await runCli(['log'], { cwd: p.dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^safe-run: .*safe-run\.config\.json: logFile "~bob\/ops.json": only ~ and ~\/… are expanded, not ~user\n  try: /);
    expect(existsSync(path.join(p.dir, '~bob'))).toBe(false);
  });
});

describe('a database path that is a directory', () => {
  it('gets one line saying so: 125 for a guarded run, 3 for backup', async () => {
    const p = project();
    const run = await runCli(['--db', 'data', '--', 'true'], { cwd: p.dir });
    expect(run.code).toBe(125);
    expect(run.stderr).toMatch(/^safe-run: cannot back up data \(.*\/data\): it is a directory, not a database file$/m);
    expect(run.stderr).not.toMatch(/no such database file/);
    const backup = await runCli(['backup', '--db', 'data'], { cwd: p.dir });
    expect(backup.code).toBe(3);
    expect(backup.stderr).toMatch(/it is a directory, not a database file\n  try: give the path of the SQLite file itself/);
  });
});

describe('a sqlite: URL with a query string', () => {
  it('backs up the file without the query in its name, and writes the key nowhere', async () => {
    const p = project();
    const run = await runCli(['--db', 'sqlite:data/app.db?key=hunter2&mode=rw', '--', 'true'], { cwd: p.dir });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toMatch(/backing up app \(data\/app\.db,/);
    expect(run.stderr).not.toContain('hunter2');
    expect(allText(path.join(p.dir, 'logs'))).not.toContain('hunter2');
    expect(allText(path.join(p.dir, 'backups'))).not.toContain('hunter2');
    expect(readdirSync(path.join(p.dir, 'backups'))).toEqual(['app']);
  });
});

describe('escape sequences in the command', () => {
  it('are shown visibly by the run header and by show, never sent to the terminal', async () => {
    const p = project();
    const run = await runCli(['--', 'sh', '-c', 'exit 0', 'x\x1b[2J\x9b31m'], { cwd: p.dir });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).not.toMatch(/[\x1b\x9b]/);
    expect(run.stderr).toMatch(/^── sh -c 'exit 0' "\$\(printf 'x\\033\[2J\\302\\23331m'\)" ─+$/m);

    const show = await runCli(['show', 'last', '--no-verify'], { cwd: p.dir });
    expect(show.code, show.stderr).toBe(0);
    expect(show.stdout).not.toMatch(/[\x1b\x9b]/);
    expect(show.stdout).toContain(`"$(printf 'x\\033[2J\\302\\23331m')"`);
  });

  it('in a path are shown as escapes in show (cwd) and in error messages', async () => {
    const p = project();
    const odd = path.join(p.dir, 'x\x1b[31m');
    mkdirSync(odd);
    const run = await runCli(['--config', path.join(p.dir, 'safe-run.config.json'), '--', 'true'], { cwd: odd });
    expect(run.code, run.stderr).toBe(0);
    const show = await runCli(['show', 'last', '--no-verify'], { cwd: p.dir });
    expect(show.stdout).not.toContain('\x1b');
    expect(show.stdout).toMatch(/^cwd\s+.*x\\x1b\[31m$/m);
    const bad = await runCli(['--db', 'nope\x1b[31m.db', '--', 'true'], { cwd: p.dir });
    expect(bad.code).toBe(125);
    expect(bad.stderr).not.toContain('\x1b');
    expect(bad.stderr).toContain('nope\\x1b[31m.db');
  });
});
