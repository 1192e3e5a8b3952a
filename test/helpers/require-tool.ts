/**
 * Real-tool tests: on a user's machine a missing tool skips the test with its reason; under
 * CI (`CI=true`) a missing tool fails the suite, never skips.
 */
import { execFileSync } from 'node:child_process';

export const isCI = process.env.CI === 'true';

/** True when `bin` is found on PATH (or is an existing executable path). */
export function hasTool(bin: string): boolean {
  try {
    execFileSync('sh', ['-c', 'command -v "$1"', 'sh', bin], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/**
 * Returns the list of missing tools and, outside CI, prints why the suite is skipped.
 * Under CI, throws so that the suite fails. Use as `describe.skipIf(missingTools(...).length)`.
 */
export function missingTools(...bins: string[]): string[] {
  const missing = bins.filter((b) => !hasTool(b));
  if (missing.length > 0) {
    const msg = `missing tools: ${missing.join(', ')} (run: npm run setup)`;
    if (isCI) throw new Error(`CI=true and ${msg}`);
    console.warn(`skipping: ${msg}`);
  }
  return missing;
}
