/**
 * `npm run --silent static-registry -- [options] [IMAGES_DIR]`: prints the nginx include that
 * serves IMAGES_DIR as a read-only registry (static-container-registry's command line).
 */
import { statSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { TaskError } from '../engine/task.ts';
import { expressionPieces } from '../lib/text/quote.ts';
import { generateRegistryConfig } from '../tasks/images/nginx-registry-config.ts';
import { scanImagesDir } from '../tasks/images/registry-scan.ts';
import { loadSettingsOrReport } from './settings.ts';

const USAGE = `usage: static-registry [--name-prefix PREFIX] [--server-root PATH]
                       [--omit-constants | --only-constants] [--catalog | --no-catalog] [IMAGES_DIR]

Prints an nginx include (locations for a server block) serving IMAGES_DIR/<name>/<tag>/
(skopeo dir: layouts) as a read-only Docker Registry v2.
  --name-prefix PREFIX  put PREFIX/ before every repository name (may be a {{ template }})
  --server-root PATH    directory (or $variable, or {{ template }}) nginx reads images from;
                        default: the absolute IMAGES_DIR
  --omit-constants      leave out /v2/, the JSON 404 fallbacks (for extra includes)
  --only-constants      print only those
  --catalog/--no-catalog  serve /v2/_catalog (default: only with the constants)
IMAGES_DIR defaults to the current directory.`;

/** Runs the command; returns the exit code (0 ok, 2 usage error or bad setting in .env). */
export async function main(argv: readonly string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      options: {
        'name-prefix': { type: 'string' },
        'server-root': { type: 'string' },
        'omit-constants': { type: 'boolean' },
        'only-constants': { type: 'boolean' },
        catalog: { type: 'boolean' },
        'no-catalog': { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (err) {
    process.stderr.write(`static-registry: ${(err as Error).message}\n${USAGE}\n`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help === true) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (
    (values['omit-constants'] === true && values['only-constants'] === true) ||
    positionals.length > 1
  ) {
    process.stderr.write(
      `static-registry: --omit-constants and --only-constants exclude each other; one IMAGES_DIR at most\n${USAGE}\n`,
    );
    return 2;
  }
  // The settings every command validates (.env): a mistake there is reported here too.
  if (loadSettingsOrReport('static-registry') === undefined) return 2;
  const root = path.resolve(positionals[0] ?? '.');
  if (
    values['only-constants'] !== true &&
    statSync(root, { throwIfNoEntry: false })?.isDirectory() !== true
  ) {
    process.stderr.write(
      `static-registry: IMAGES_DIR ${root} is not a directory; give the directory holding <name>/<tag>/ image layouts\n`,
    );
    return 2;
  }
  // IMAGES_DIR is a literal path: a '$' or a brace in it must not become an nginx variable or
  // a Jinja expression (only --server-root may hold those, on purpose).
  const literalRoot = values['server-root'] === undefined ? checkLiteralRoot(root) : undefined;
  if (literalRoot !== undefined) {
    process.stderr.write(literalRoot);
    return 2;
  }
  const scan =
    values['only-constants'] === true ? { repos: [], warnings: [] } : await scanImagesDir(root);
  for (const w of scan.warnings) process.stderr.write(`static-registry: ${w}\n`);
  const catalog =
    values.catalog === true ? true : values['no-catalog'] === true ? false : undefined;
  try {
    process.stdout.write(
      generateRegistryConfig({
        repos: scan.repos,
        serverRoot: values['server-root'] ?? root,
        ...(values['name-prefix'] !== undefined ? { namePrefix: values['name-prefix'] } : {}),
        constants:
          values['only-constants'] === true
            ? 'only'
            : values['omit-constants'] === true
              ? 'omit'
              : 'include',
        ...(catalog !== undefined ? { catalog } : {}),
      }),
    );
  } catch (err) {
    if (!(err instanceof TaskError)) throw err;
    process.stderr.write(usageMessage(err));
    return 2;
  }
  return 0;
}

function usageMessage(err: TaskError): string {
  return `static-registry: ${err.message}\n${err.hint === undefined ? '' : `  hint: ${err.hint}\n`}`;
}

/** The message refusing IMAGES_DIR as the server root, or undefined when nginx can carry it. */
function checkLiteralRoot(root: string): string | undefined {
  try {
    expressionPieces(
      root,
      'IMAGES_DIR',
      'move or rename the directory, or give --server-root PATH (nginx variables and {{ name }} allowed there)',
    );
    return undefined;
  } catch (err) {
    if (err instanceof TaskError) return usageMessage(err);
    throw err;
  }
}

if (
  import.meta.url === `file://${process.argv[1] ?? ''}` ||
  process.argv[1]?.endsWith('static-registry.ts') === true
) {
  // No top-level await: the bundle is CommonJS (bin/compile-dist.mjs).
  void main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
