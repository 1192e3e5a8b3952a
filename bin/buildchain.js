#!/usr/bin/env node
// `./doit.sh`, `npm run build` and the `buildchain` bin: the build CLI (buildchain/cli/bin.ts),
// compiled and bundled (see bin/launch.js).
import { load, treeFor } from './launch.js';

const argv = process.argv.slice(2);
const cli = await load('buildchain/cli/main.ts', { tree: treeFor(argv) });
process.exitCode = await /** @type {(argv: string[]) => Promise<number>} */ (cli.main)(argv);
