#!/usr/bin/env node
// `npx static-container-registry` and `npm run static-registry`: the nginx registry include
// generator, compiled (see bin/launch.js).
import { load } from './launch.js';

const cli = await load('buildchain/cli/static-registry.ts');
process.exitCode = await /** @type {(argv: string[]) => Promise<number>} */ (cli.main)(
  process.argv.slice(2),
);
