// A wait the user gave in seconds, said back the way it was given: --wait 0.5 is "0.5 s", not "1 s".

/** "0.5 s", "1.25 s", "30 s": up to two decimals under 10 s (no trailing zeros), whole seconds above. */
export function secondsText(ms: number): string {
  const s = ms / 1000;
  return `${s >= 10 ? Math.round(s) : Number(s.toFixed(2))} s`;
}
