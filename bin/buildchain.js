#!/usr/bin/env node
// `./doit.sh`, `npm run build` and the `buildchain` bin: the build CLI (buildchain/cli/bin.ts),
// compiled (see bin/launch.js).
import { hasTypeScriptTasksModule, load } from './launch.js';

const argv = process.argv.slice(2);
const cli = await load('buildchain/cli/main.ts', { withTsx: hasTypeScriptTasksModule(argv) });
process.exitCode = await /** @type {(argv: string[]) => Promise<number>} */ (cli.main)(argv);
