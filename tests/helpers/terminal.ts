// safe-run in a real pseudo-terminal: a tmux pane to type into and read from.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { BIN } from './cli.js';

let sessions = 0;

/** safe-run running in a tmux pane of 120×40: send keys, read the screen, read the exit code. */
export class Terminal {
  private static readonly running: Terminal[] = [];

  /** End every terminal a test opened (call it in afterEach). */
  static killAll(): void {
    for (const t of Terminal.running.splice(0)) t.kill();
  }

  readonly name = `safe-run-test-${process.pid}-${++sessions}`;
  private readonly exitFile: string;

  constructor(readonly dir: string, args: string[]) {
    this.exitFile = path.join(dir, `exit-code-${sessions}`);
    const cli = `cd '${dir}' && NO_COLOR=1 '${process.execPath}' '${BIN}' ${args.join(' ')}; echo EXIT=$? > '${this.exitFile}'; sleep 30`;
    this.tmux('new-session', '-d', '-s', this.name, '-x', '120', '-y', '40', cli);
    Terminal.running.push(this);
  }

  /** Its own server (-L), so no user's tmux and no config file gets involved. */
  private tmux(...args: string[]): string {
    const r = spawnSync('tmux', ['-L', this.name, '-f', '/dev/null', ...args], { encoding: 'utf8', env: { ...process.env, TERM: 'xterm' } });
    if (r.status !== 0 && args[0] !== 'kill-server') throw new Error(`tmux ${args[0]} failed: ${r.stderr}`);
    return r.stdout;
  }

  screen(): string {
    return this.tmux('capture-pane', '-p', '-t', this.name, '-S', '-200');
  }

  keys(...keys: string[]): void {
    this.tmux('send-keys', '-t', this.name, ...keys);
  }

  /** Type text literally (no key names), e.g. the database's name. */
  type(text: string): void {
    this.tmux('send-keys', '-t', this.name, '-l', text);
  }

  async waitFor(expected: string | RegExp, timeoutMs = 20_000): Promise<string> {
    const found = (s: string) => (typeof expected === 'string' ? s.includes(expected) : expected.test(s));
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const s = this.screen();
      if (found(s)) return s;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${expected}; the screen:\n${s}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  async exitCode(timeoutMs = 30_000): Promise<number> {
    const deadline = Date.now() + timeoutMs;
    while (!existsSync(this.exitFile) || !readFileSync(this.exitFile, 'utf8').includes('\n')) {
      if (Date.now() > deadline) throw new Error(`safe-run did not exit; the screen:\n${this.screen()}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    return Number(/EXIT=(\d+)/.exec(readFileSync(this.exitFile, 'utf8'))![1]);
  }

  kill(): void {
    this.tmux('kill-server');
  }
}

