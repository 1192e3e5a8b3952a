#!/usr/bin/env node
// `npx metalk8s-solution` and `npm run solution`: the Solution CLI, compiled (see bin/launch.js).
'use strict';
const { load } = require('./launch.js');

void load('buildchain/cli/solution.ts').then((cli) =>
  /** @type {(argv: string[]) => Promise<void>} */ (cli.main)(process.argv.slice(2)),
);
