#!/usr/bin/env node
// Shim for `npx metalk8s-solution`: runs the TypeScript CLI through tsx (no build step).
import { tsImport } from 'tsx/esm/api';

const cli = await tsImport('../buildchain/cli/solution.ts', import.meta.url);
await cli.main(process.argv.slice(2));
