#!/usr/bin/env node
// `./doit.sh`, `npm run build` and the `buildchain` bin: the build CLI (buildchain/cli/bin.ts),
// compiled and bundled (see bin/launch.js). CommonJS (bin/package.json): an ES module entry
// costs every start ~10 ms more.
'use strict';
const { load, treeFor } = require('./launch.js');

const argv = process.argv.slice(2);
void load('buildchain/cli/main.ts', { tree: treeFor(argv) }).then(async (cli) => {
  process.exitCode = await /** @type {(argv: string[]) => Promise<number>} */ (cli.main)(argv);
});
