// An operation log that does not parse is never overwritten: a guarded run stops before the command
// and says which file is damaged; reading the log fails with its own exit code.
import { afterAll, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { rowsOf, runCli, tempProject } from './helpers/cli.js';

// Tests run concurrently (each in its own project), so projects are removed once all are done.
const projects: Array<{ cleanup: () => void }> = [];
afterAll(() => projects.splice(0).forEach((p) => p.cleanup()));

const DAMAGED = '{not json';

function projectWithDamagedLog() {
  const p = tempProject('safe-run-oplog-');
  projects.push(p);
  const log = path.join(p.dir, 'logs', 'operations.json');
  mkdirSync(path.dirname(log));
  writeFileSync(log, DAMAGED);
  return { ...p, log };
}

describe.concurrent('an operation log that does not parse', () => {
  it('stops a guarded run with 125 and a message naming the file, without starting the command or touching the file', async () => {
    const p = projectWithDamagedLog();
    const before = rowsOf(p.dbPath);
    const run = await runCli(['--', 'sh', '-c', 'touch marker'], { cwd: p.dir });
    expect(run.code).toBe(125);
    expect(existsSync(path.join(p.dir, 'marker'))).toBe(false);
    expect(run.stderr).toContain(p.log);
    expect(run.stderr).toMatch(/not valid JSON/);
    expect(run.stderr).not.toMatch(/^undo\s/m);
    expect(readFileSync(p.log).equals(Buffer.from(DAMAGED))).toBe(true);
    expect(rowsOf(p.dbPath)).toEqual(before);
  });

  it('makes log exit 6 with a message naming the file, and leaves the file as it was', async () => {
    const p = projectWithDamagedLog();
    for (const args of [['log'], ['log', '--json']]) {
      const log = await runCli(args, { cwd: p.dir });
      expect(log.code).toBe(6);
      expect(log.stderr).toContain(p.log);
      expect(log.stdout).toBe('');
    }
    expect(readFileSync(p.log).equals(Buffer.from(DAMAGED))).toBe(true);
  });
});
