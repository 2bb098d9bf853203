// URL scheme → engine. Each engine registers a factory that can parse its URLs without connecting (for
// the config and messages) and open an engine for a database; `manifest.engine` picks the factory that
// reopens a backup. The core asks this registry, never an engine module.
import type { Engine } from './engine.js';

export interface ParsedLocation {
  /** The database's identity, safe to print and log: a resolved path, or a URL without its password. */
  location: string;
  /** A name for the database when the config gives none ("app" for data/app.db). */
  defaultName: string;
}

export interface EngineFactory {
  /** The name recorded in manifests ("sqlite"). */
  readonly kind: string;
  /** URL schemes it answers to, lower case, without ":" ("postgres", "postgresql"). */
  readonly schemes: readonly string[];
  /** Whether it takes plain paths (no scheme) no other engine claims: only one engine does, SQLite. */
  readonly takesPaths?: boolean;
  /** Whether this plain path is its own (DuckDB: a name ending in .duckdb), asked before the default. */
  claimsPath?(path: string): boolean;
  /** Parse a URL or path (relative paths against `baseDir`) without touching the database. Throws on a bad URL. */
  parse(url: string, baseDir: string): ParsedLocation;
  /** An engine for the database at `url` (as parse accepted it), under the configured `name`. */
  open(name: string, url: string, options?: Record<string, unknown>): Promise<Engine>;
  /**
   * An engine for the database a backup was taken of, from the location the backup recorded (printable:
   * no password). SQLite takes the path exactly as recorded (resolving it again would follow a link made
   * since); a server finds its credentials in the config's entry for the same database.
   */
  reopen(name: string, location: string, configured: ReadonlyArray<{ url: string; options?: Record<string, unknown> }>): Promise<Engine>;
}

const factories: EngineFactory[] = [];

export function registerEngine(factory: EngineFactory): void {
  if (factories.some((f) => f.kind === factory.kind)) return;
  factories.push(factory);
}

/** The scheme of a URL ("postgres" for postgres://…), or undefined for a plain path. */
export function schemeOf(url: string): string | undefined {
  return /^([a-z][a-z0-9+.-]*):\/\//i.exec(url)?.[1]?.toLowerCase();
}

/** The factory for a URL or path; undefined when no engine takes it. */
export function factoryForUrl(url: string): EngineFactory | undefined {
  const scheme = schemeOf(url);
  if (scheme === undefined) return factories.find((f) => f.claimsPath?.(url)) ?? factories.find((f) => f.takesPaths);
  return factories.find((f) => f.schemes.includes(scheme));
}

/** The factory that wrote backups of this kind (a manifest's `engine`). */
export function factoryForKind(kind: string): EngineFactory | undefined {
  return factories.find((f) => f.kind === kind);
}

/** The schemes every registered engine answers to, for messages. */
export function knownSchemes(): string[] {
  return factories.flatMap((f) => f.schemes.map((s) => `${s}://`));
}
