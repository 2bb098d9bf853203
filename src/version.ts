// safe-run's own version, read once from its package.json.
import { readFileSync } from 'node:fs';

/** The npm package's name: "safe-run" on npm is an unrelated package; the command stays `safe-run`. */
export const PACKAGE_NAME = 'safe-run-cli';

/** Walk up from this module (dist/version.js, or the bundled CLI's chunks in dist/bundle/) to package.json. */
function readVersion(): string {
  for (const rel of ['../package.json', '../../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(rel, import.meta.url), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === PACKAGE_NAME && pkg.version) return pkg.version;
    } catch {
      // try the next candidate
    }
  }
  return '0.0.0-unknown';
}

export const VERSION: string = readVersion();
