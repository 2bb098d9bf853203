#!/usr/bin/env node
// The CLI is bundled (dist/bundle/cli.mjs, with one chunk per command and per lazily loaded library beside
// it): loading hundreds of small modules from node_modules costs more than the whole guarded run of a
// small database (../shared/FIELD-NOTES.md, "Start-up cost"), and one file of everything is compiled whole.
import('../dist/bundle/cli.mjs').then((m) => m.main(process.argv.slice(2)));
