#!/usr/bin/env node
// `npx static-container-registry` and `npm run static-registry`: the nginx registry include
// generator, compiled (see bin/launch.js).
'use strict';
const { load } = require('./launch.js');

void load('buildchain/cli/static-registry.ts').then(async (cli) => {
  process.exitCode = await /** @type {(argv: string[]) => Promise<number>} */ (cli.main)(
    process.argv.slice(2),
  );
});
