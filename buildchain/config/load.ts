/**
 * Builds the {@link BuildConfig}: defaults from `.env.example`, overridden by `.env` at the
 * repository root, overridden by the environment (only for keys `.env.example` lists).
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { UsageError } from '../engine/failures.ts';
import { TaskError } from '../engine/task.ts';
import { readRegularText } from '../lib/fs/read-bounded.ts';
import { checkedBuildRoot } from './build-root.ts';
import { setDefaultCommandTimeout } from '../engine/exec/run-command.ts';
import { configureHttp } from '../lib/http/get.ts';
import { parseSettings } from './settings.ts';
import type { BuildConfig } from './config.ts';
import { checkKnownKeys, parseEnvExample, parseEnvFile } from './env.ts';
import { resolveTools } from './tools.ts';

/** Largest `.env` or `.env.example` accepted (bytes): settings files are a few KiB. */
const MAX_ENV_FILE_BYTES = 1024 * 1024;

/** The text of a settings file; a directory, FIFO, device or unreadable file is `invalid-env`. */
function readEnvFile(file: string, fix: string): string {
  try {
    return readRegularText(file, { maxBytes: MAX_ENV_FILE_BYTES, fix });
  } catch (err) {
    if (err instanceof TaskError) throw new UsageError('invalid-env', err.message, err.hint);
    const code = (err as NodeJS.ErrnoException).code ?? String(err);
    throw new UsageError('invalid-env', `${file}: cannot be read (${code})`, fix);
  }
}

/** Effective values of every known key: `.env.example` < `.env` < environment. */
export function loadEnv(
  root: string,
  environment: Readonly<Record<string, string | undefined>> = process.env,
): Record<string, string> {
  const examplePath = path.join(root, '.env.example');
  if (!existsSync(examplePath)) {
    throw new UsageError('invalid-env', `${examplePath} not found`, 'run from the repository root');
  }
  const known = parseEnvExample(
    readEnvFile(
      examplePath,
      'restore .env.example (a readable regular file) from the repository: git checkout -- .env.example',
    ),
  );
  const values: Record<string, string> = Object.fromEntries(known);
  const dotenvPath = path.join(root, '.env');
  if (existsSync(dotenvPath)) {
    const text = readEnvFile(
      dotenvPath,
      `make ${dotenvPath} a readable regular file of KEY=value lines (see .env.example), or remove it`,
    );
    const assignments = parseEnvFile(text, dotenvPath);
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
  const settings = parseSettings(values, env);
  setDefaultCommandTimeout(settings.commandTimeoutMs);
  configureHttp({ timeoutMs: settings.httpTimeoutMs, proxies: settings.proxies });
  // Refused before anything is written: everything under it may be removed.
  const buildRoot = checkedBuildRoot(absRoot, values.BUILD_ROOT ?? '', env);
  return {
    root: absRoot,
    buildRoot,
    isoRoot: path.join(buildRoot, 'root'),
    projectName: settings.projectName,
    sources: settings.sources,
    settings,
    env: values,
    tools: resolveTools(values),
  };
}
