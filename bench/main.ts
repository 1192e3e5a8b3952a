/**
 * Benchmarks (not tests): `npm run bench -- <name> [options]` runs `bench/<name>.ts`, which
 * exports `run(args: string[]): Promise<void>`.
 */
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const here = import.meta.dirname;

function available(): string[] {
  return readdirSync(here)
    .filter((f) => f.endsWith('.ts') && f !== 'main.ts')
    .map((f) => f.slice(0, -3))
    .sort();
}

const [name, ...args] = process.argv.slice(2);
if (name === undefined || name === '--help' || name === '-h') {
  process.stdout.write(
    `usage: npm run bench -- <name> [options]\nbenchmarks: ${available().join(', ')}\n`,
  );
  process.exitCode = name === undefined ? 2 : 0;
} else if (!/^[a-z0-9-]+$/.test(name) || !existsSync(path.join(here, `${name}.ts`))) {
  process.stderr.write(`unknown benchmark ${name}; available: ${available().join(', ')}\n`);
  process.exitCode = 2;
} else {
  const mod = (await import(pathToFileURL(path.join(here, `${name}.ts`)).href)) as {
    run?: (args: string[]) => Promise<void>;
  };
  if (typeof mod.run !== 'function') {
    process.stderr.write(`bench/${name}.ts does not export run(args)\n`);
    process.exitCode = 2;
  } else {
    await mod.run(args);
  }
}
