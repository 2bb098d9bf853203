// safe-run's own output may go to a pipe that closes early (`| head -1`, quitting `| less`).

/**
 * Ignore write errors (EPIPE, and writes after the stream was destroyed) on stdout and stderr. Without
 * a listener, Node turns the EPIPE of a closed reader into an uncaught exception: safe-run would die
 * between the backup and the command, or after the command with its exit code lost and the log still
 * saying "running". A closed output is no reason to stop guarding; the run goes on and is logged.
 * (SIGPIPE itself is already ignored by Node; the guarded command gets the default disposition back.)
 */
export function ignoreClosedOutput(): void {
  for (const stream of [process.stdout, process.stderr]) {
    if (stream.listenerCount('error') === 0) stream.on('error', () => undefined);
  }
}
