/** Small fake tools (sh scripts) put in a workspace's bin/ directory. */
import { chmodSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/**
 * Writes `bin/<name>`: prints `<name> version <version>` for `--version`/`-version`/`-v`,
 * otherwise runs `body` (sh, with the arguments in "$@"). Returns the script's path.
 */
export function fakeTool(
  binDir: string,
  name: string,
  opts: { version?: string; body?: string } = {},
): string {
  const file = path.join(binDir, name);
  const script = `#!/bin/sh
case "$1" in --version|-version|-v) echo "${name} version ${opts.version ?? '1.0'}"; exit 0;; esac
${opts.body ?? 'exit 0'}
`;
  writeFileSync(file, script);
  chmodSync(file, 0o755);
  return file;
}
