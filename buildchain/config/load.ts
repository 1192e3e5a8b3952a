/**
 * Builds the {@link BuildConfig}: defaults from `.env.example`, overridden by `.env` at the
 * repository root, overridden by the environment (only for keys `.env.example` lists).
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { UsageError } from '../engine/failures.ts';
import type { BuildConfig, SourcesKind } from './config.ts';
import { checkKnownKeys, parseEnvExample, parseEnvFile } from './env.ts';
import { resolveTools } from './tools.ts';

const SOURCES_KINDS: readonly SourcesKind[] = ['embedded', 'upstream', 'site'];

/** Effective values of every known key: `.env.example` < `.env` < environment. */
export function loadEnv(
  root: string,
  environment: Readonly<Record<string, string | undefined>> = process.env,
): Record<string, string> {
  const examplePath = path.join(root, '.env.example');
  if (!existsSync(examplePath)) {
    throw new UsageError('invalid-env', `${examplePath} not found`, 'run from the repository root');
  }
  const known = parseEnvExample(readFileSync(examplePath, 'utf8'));
  const values: Record<string, string> = Object.fromEntries(known);
  const dotenvPath = path.join(root, '.env');
  if (existsSync(dotenvPath)) {
    const assignments = parseEnvFile(readFileSync(dotenvPath, 'utf8'), dotenvPath);
    checkKnownKeys(assignments, known, dotenvPath);
    for (const a of assignments) values[a.key] = a.value;
  }
  for (const key of known.keys()) {
    const v = environment[key];
    if (v !== undefined) values[key] = v;
  }
  return values;
}

/** Loads and validates the configuration of the repository at `root`. */
export function loadConfig(
  root: string,
  env: Readonly<Record<string, string | undefined>> = process.env,
): BuildConfig {
  const absRoot = path.resolve(root);
  const values = loadEnv(absRoot, env);
  const sources = values.SOURCES === '' || values.SOURCES === undefined ? 'embedded' : values.SOURCES;
  if (!(SOURCES_KINDS as readonly string[]).includes(sources)) {
    throw new UsageError(
      'invalid-env',
      `SOURCES=${sources} is not one of ${SOURCES_KINDS.join(', ')}`,
      'fix SOURCES in .env or the environment',
    );
  }
  const buildRoot = path.resolve(absRoot, values.BUILD_ROOT === '' ? '_build' : (values.BUILD_ROOT ?? '_build'));
  if (buildRoot === absRoot || absRoot.startsWith(buildRoot + path.sep)) {
    throw new UsageError('invalid-env', `BUILD_ROOT=${buildRoot} would contain the repository`);
  }
  return {
    root: absRoot,
    buildRoot,
    isoRoot: path.join(buildRoot, 'root'),
    projectName: values.PROJECT_NAME === '' ? 'MetalK8s' : (values.PROJECT_NAME ?? 'MetalK8s'),
    sources: sources as SourcesKind,
    env: values,
    tools: resolveTools(values),
  };
}
