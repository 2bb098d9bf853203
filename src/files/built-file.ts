// A file of the built package (dist/), found from any module of it: the bundled CLI (dist/bundle/cli.mjs)
// and the library's own modules (dist/**) sit at different depths, so worker scripts cannot be found by a
// path relative to the module that starts them.
import { pathToFileURL, fileURLToPath } from 'node:url';

/** `rel` (e.g. "engines/sqlite-verify-worker.js") inside the dist directory `moduleUrl` belongs to. */
export function builtFile(rel: string, moduleUrl: string): URL {
  const here = fileURLToPath(moduleUrl);
  const at = here.lastIndexOf('/dist/');
  if (at < 0) throw new Error(`not a module of the built package: ${here}`);
  return pathToFileURL(`${here.slice(0, at)}/dist/${rel}`);
}
