// "30d" and "5GB" as the config and the command line write them.
//
// A few lines rather than `ms` and `bytes`: `ms` has no month unit and reads "30m" as minutes, `bytes`
// reads "5GB" as 5 GiB while pretty-bytes (what safe-run prints) means 5·10⁹. One table here keeps what
// we parse and what we print the same.

const DURATION_UNITS: Record<string, number> = {
  h: 3_600_000,
  d: 86_400_000,
  w: 7 * 86_400_000,
  y: 365 * 86_400_000,
};

const SIZE_UNITS: Record<string, number> = {
  b: 1,
  kb: 1e3,
  mb: 1e6,
  gb: 1e9,
  tb: 1e12,
  kib: 2 ** 10,
  mib: 2 ** 20,
  gib: 2 ** 30,
  tib: 2 ** 40,
};

/** "12h", "30d", "2w", "1y" → ms; undefined when it is not one of those. */
export function parseDuration(text: string): number | undefined {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([hdwy])\s*$/i.exec(text);
  if (!m) return undefined;
  const ms = Number(m[1]) * DURATION_UNITS[m[2]!.toLowerCase()]!;
  return ms > 0 ? ms : undefined;
}

/** "5GB", "500 MB", "2GiB", "1000000" (bytes) → bytes; undefined when it is not a size. */
export function parseSize(text: string): number | undefined {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kmgt]i?b|b)?\s*$/i.exec(text);
  if (!m) return undefined;
  const bytes = Math.round(Number(m[1]) * SIZE_UNITS[(m[2] ?? 'b').toLowerCase()]!);
  return bytes > 0 ? bytes : undefined;
}
