// Defer SIGINT/SIGTERM/SIGHUP during a critical section, then deliver them once it is over.

const SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

/**
 * From now until the returned function is called, the signals above are noted instead of killing the
 * process; afterwards the first one noted is raised again. Used around a swap, so that Ctrl-C never
 * leaves a database half-restored.
 */
export function holdSignals(): () => void {
  let pending: NodeJS.Signals | undefined;
  const onSignal = (sig: NodeJS.Signals) => {
    pending ??= sig;
  };
  for (const sig of SIGNALS) process.on(sig, onSignal);
  let released = false;
  return () => {
    if (released) return;
    released = true;
    for (const sig of SIGNALS) process.off(sig, onSignal);
    if (pending && process.listenerCount(pending) === 0) process.kill(process.pid, pending);
    else if (pending) process.emit(pending, pending);
  };
}
