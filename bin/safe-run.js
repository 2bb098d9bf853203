#!/usr/bin/env node
// The CLI is one bundled file (dist/bundle/cli.mjs): loading hundreds of small modules costs more than
// the whole guarded run of a small database (../shared/FIELD-NOTES.md, "Start-up cost").
import('../dist/bundle/cli.mjs').then((m) => m.main(process.argv.slice(2)));
