#!/usr/bin/env node
// `npx metalk8s-solution` and `npm run solution`: the Solution CLI, compiled (see bin/launch.js).
import { load } from './launch.js';

const cli = await load('buildchain/cli/solution.ts');
await /** @type {(argv: string[]) => Promise<void>} */ (cli.main)(process.argv.slice(2));
