#!/usr/bin/env node
// Runs buildchain/cli/static-registry.ts through tsx (so `npx static-container-registry` works
// without a compile step).
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../buildchain/cli/static-registry.ts');
process.exitCode = await main(process.argv.slice(2));
