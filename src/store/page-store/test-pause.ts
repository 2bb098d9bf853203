// A test's way to stop the process at a named step and kill it there (kill -9 tests of the page store).

/** With SAFE_RUN_TEST_PAUSE_AT=`step`, say so on stderr and wait forever (until killed). */
export async function pauseForTest(step: string): Promise<void> {
  if (process.env.SAFE_RUN_TEST_PAUSE_AT !== step) return;
  process.stderr.write(`safe-run: paused at ${step}\n`);
  await new Promise(() => setInterval(() => undefined, 60_000));
}
