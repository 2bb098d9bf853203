#!/usr/bin/env node
// The CLI is bundled (dist/bundle/cli.mjs, with one chunk per command and per lazily loaded library beside
// it): loading hundreds of small modules from node_modules costs more than the whole guarded run of a
// small database (../shared/FIELD-NOTES.md, "Start-up cost"), and one file of everything is compiled whole.
const argv = process.argv.slice(2);
// A guarded run (a command after "--") needs a lock keeper process: fork it before the CLI's code loads,
// so that its start-up overlaps more of ours (src/lock/keeper-process.ts; main() takes the same one).
// The fork comes first: loaded side by side, the CLI's many chunks delayed it by ~15 ms (traced).
const dashes = argv.indexOf('--');
const early =
  dashes >= 0 && !argv.slice(0, dashes).some((a) => a === '--help' || a === '-h' || a === 'help')
    ? import('../dist/bundle/keeper-process.mjs').then((m) => m.startKeeperEarly(), () => undefined)
    : undefined;
Promise.resolve(early)
  .then(() => import('../dist/bundle/cli.mjs'))
  .then((m) => m.main(argv));
