// npm run demo: safe-run's main job on a bundled sample database, start to finish, checked at the end.
import Database from 'better-sqlite3';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const bin = path.join(here, '..', 'bin', 'safe-run.js');
const work = path.join(here, 'work');
const db = path.join(work, 'data', 'shop.db');

function counts() {
  const conn = new Database(db, { readonly: true, fileMustExist: true });
  try {
    return {
      customers: conn.prepare('SELECT count(*) FROM customers').pluck().get(),
      orders: conn.prepare('SELECT count(*) FROM orders').pluck().get(),
    };
  } finally {
    conn.close();
  }
}

const bold = process.stdout.isTTY && !process.env.NO_COLOR ? (s) => `\x1b[1m${s}\x1b[0m` : (s) => s;

function step(title) {
  process.stdout.write(`\n${bold(title)}\n`);
}

/** Run the CLI as a user would see it (its own output untouched); `capture` keeps its stdout instead. */
function safeRun(args, { capture = false } = {}) {
  if (!capture) process.stdout.write(`$ safe-run ${args.map((a) => (/[\s"'$]/.test(a) ? `'${a}'` : a)).join(' ')}\n`);
  const r = spawnSync(process.execPath, [bin, ...args], {
    cwd: work,
    stdio: ['ignore', capture ? 'pipe' : 'inherit', 'inherit'],
    encoding: 'utf8',
  });
  if (r.status !== 0) {
    console.error(`demo: safe-run ${args[0]} exited with ${r.status}`);
    process.exit(1);
  }
  return r.stdout;
}

/**
 * Run a printed command through sh, as a user pasting it would, from another directory (the printed
 * command carries the project's path). `safe-run` on PATH is this checkout's, as an install provides it.
 */
function pasteIntoShell(line) {
  process.stdout.write(`$ ${line}\n`);
  const binDir = path.join(work, '.bin');
  mkdirSync(binDir, { recursive: true });
  symlinkSync(bin, path.join(binDir, 'safe-run'));
  const r = spawnSync('sh', ['-c', line], { cwd: here, stdio: 'inherit', env: { ...process.env, PATH: `${binDir}${path.delimiter}${process.env.PATH}` } });
  if (r.status !== 0) {
    console.error(`demo: the pasted command exited with ${r.status}`);
    process.exit(1);
  }
}

rmSync(work, { recursive: true, force: true });
mkdirSync(path.dirname(db), { recursive: true });
copyFileSync(path.join(here, 'shop.db'), db);
writeFileSync(path.join(work, 'safe-run.config.json'), JSON.stringify({ databases: [{ name: 'shop', url: 'data/shop.db' }] }, null, 2) + '\n');

step('1. The sample shop database (demo/work/data/shop.db)');
const before = counts();
console.log(`customers: ${before.customers}, orders: ${before.orders}`);

step('2. A risky clean-up, guarded: verified backup first, then the script');
safeRun(['--reason', 'demo: clean up inactive customers', '--', 'node', '../scripts/cleanup-inactive.js', 'data/shop.db', '2026-06-01']);
const after = counts();
console.log(`now: customers ${after.customers}, orders ${after.orders}  (the cutoff was wrong: far too much is gone)`);

step('3. What happened: the operation log and the backup store');
safeRun(['log', '--limit', '5']);
safeRun(['list']);

step('4. Undo it with the printed rollback command, pasted into sh elsewhere (--yes: this demo has no one to ask)');
const undo = JSON.parse(safeRun(['log', '--json'], { capture: true }))[0]?.rollbackCommand;
if (!undo) {
  console.error('demo: no rollback command was printed');
  process.exit(1);
}
pasteIntoShell(`${undo} --yes`);

const restored = counts();
console.log(`restored: customers ${restored.customers}, orders ${restored.orders}`);
if (restored.customers !== before.customers || restored.orders !== before.orders) {
  console.error('demo: FAILED, the restored counts differ from the original');
  process.exit(1);
}
step('Done: every row is back. Try it on your own project: see README.md.');
