/**
 * The settings loader of the commands other than the build (solution, static-registry, report):
 * the same `loadConfig` (.env.example < .env < environment, every key validated once) on the
 * buildchain package root, and the same `error: ... / hint: ...` text for a bad setting (exit 2).
 */
import type { BuildConfig } from '../config/config.ts';
import { loadConfig } from '../config/load.ts';
import { UsageError } from '../engine/failures.ts';
import { PACKAGE_ROOT } from '../lib/package-root.ts';

/** The buildchain package root (holds .env.example and .env), also when running compiled. */
export { PACKAGE_ROOT } from '../lib/package-root.ts';

/**
 * The validated configuration of the package root. Throws UsageError (`invalid-env`: a bad
 * `.env` line or value) before the command does anything.
 */
export function loadPackageConfig(
  env: Readonly<Record<string, string | undefined>> = process.env,
): BuildConfig {
  return loadConfig(PACKAGE_ROOT, env);
}

/**
 * `error: <message>` and, when there is one, `  hint: <hint>` on the next line (no newline at
 * the end): how every command line reports a mistake found before it ran anything.
 */
export function usageErrorText(err: {
  readonly message: string;
  readonly hint?: string | undefined;
}): string {
  return `error: ${err.message}${err.hint === undefined ? '' : `\n  hint: ${err.hint}`}`;
}

/**
 * Loads the settings for a command; on a bad setting writes {@link usageErrorText} to `stderr`
 * (prefixed by `command: `) and returns undefined: the caller exits 2.
 */
export function loadSettingsOrReport(
  command: string,
  write: (text: string) => void = (t) => process.stderr.write(t),
  env: Readonly<Record<string, string | undefined>> = process.env,
): BuildConfig | undefined {
  try {
    return loadPackageConfig(env);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    write(`${command}: ${usageErrorText(err)}\n`);
    return undefined;
  }
}
