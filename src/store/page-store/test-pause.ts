// A test's way to stop the process at a named step and kill it there (kill -9 tests of the page store).

import { existsSync } from 'node:fs';

/**
 * With SAFE_RUN_TEST_PAUSE_AT=`step`, say so on stderr and wait forever (until killed), or until the
 * file SAFE_RUN_TEST_RESUME_FILE names exists (a test doing something else meanwhile).
 */
export async function pauseForTest(step: string): Promise<void> {
  if (process.env.SAFE_RUN_TEST_PAUSE_AT !== step) return;
  process.stderr.write(`safe-run: paused at ${step}\n`);
  const resume = process.env.SAFE_RUN_TEST_RESUME_FILE;
  if (resume) {
    while (!existsSync(resume)) await new Promise((r) => setTimeout(r, 20));
    return;
  }
  await new Promise(() => setInterval(() => undefined, 60_000));
}
