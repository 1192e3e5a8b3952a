/** argv parsing of `metalk8s-solution` (pure). */

export type SolutionCommand = 'init' | 'build' | 'lint' | 'inspect' | 'verify' | 'help';

/** Parsed command line. */
export interface SolutionArgs {
  readonly command: SolutionCommand;
  /** DIR (init, build, lint) or ISO (inspect, verify). */
  readonly target: string;
  readonly name?: string;
  readonly version?: string;
  readonly requireMetalK8s?: string;
  readonly output?: string;
  readonly workDir?: string;
  /** build: the engine's events, one JSON object per line (docs/engine.md), written to this file. */
  readonly jsonLog?: string;
  readonly json: boolean;
  readonly manifestYaml: boolean;
  readonly allowUnpinned: boolean;
  /** build: accept the Solution's hostFiles (files of this host copied into its images). */
  readonly allowHostFiles: boolean;
  readonly checksum: boolean;
  /** build: the secret key (fingerprint, key id or user id) signing SHA256SUM. */
  readonly signKey?: string;
  /** verify, inspect: a file of public keys the SHA256SUM.asc signature is checked against. */
  readonly key?: string;
  /** build: derive the image list from the manifests (`images: auto` in solution.yaml). */
  readonly imagesAuto: boolean;
}

/** Thrown on a usage mistake (exit code 2). */
export class SolutionUsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SolutionUsageError';
  }
}

export const USAGE = `Usage: metalk8s-solution <command> [options]

  init DIR --name NAME --version VERSION [--require-metalk8s RANGE]
      Create a working Solution skeleton in DIR (new or empty).
  build DIR [-o OUT.iso] [--work-dir DIR] [--manifest-yaml] [--allow-unpinned] [--allow-host-files]
        [--json] [--json-log FILE] [--sign-key KEY] [--images-auto]
      Lint, fetch/build the images, and write the ISO (+ SHA256SUM beside it).
      --sign-key KEY: sign SHA256SUM with this gpg secret key (SHA256SUM.asc beside it).
      --images-auto: add the images the manifests reference, built from images/<name>/ (as \`images: auto\`).
      OUT.iso: in an existing directory, outside DIR (or under DIR/_build).
      --allow-host-files: copy the hostFiles of solution.yaml (files of this host) into the images.
      --json-log FILE: the build engine's events (one JSON object per line) to FILE.
  lint DIR [--json] [--allow-unpinned] [--images-auto]
      Report everything build would reject (file, problem, fix).
  inspect X.iso [--json] [--key PUBKEY.asc]
      Show product info, volume id, images, platforms, operator files, sizes and signer.
  verify X.iso [--json] [--no-checksum] [--key PUBKEY.asc]
      Check layout, manifests, blobs, registry config and SHA256SUM
      (--key: and its signature SHA256SUM.asc, by one of the keys of that file).

Exit codes: 0 ok, 1 problems found or build failed, 2 usage error.`;

const VALUE_FLAGS: Readonly<Record<string, keyof SolutionArgs>> = {
  '--name': 'name',
  '--version': 'version',
  '--require-metalk8s': 'requireMetalK8s',
  '-o': 'output',
  '--output': 'output',
  '--work-dir': 'workDir',
  '--json-log': 'jsonLog',
  '--sign-key': 'signKey',
  '--key': 'key',
};
const BOOL_FLAGS: Readonly<Record<string, keyof SolutionArgs>> = {
  '--json': 'json',
  '--manifest-yaml': 'manifestYaml',
  '--allow-unpinned': 'allowUnpinned',
  '--allow-host-files': 'allowHostFiles',
  '--images-auto': 'imagesAuto',
};
const ALLOWED: Readonly<Record<SolutionCommand, readonly string[]>> = {
  init: ['--name', '--version', '--require-metalk8s'],
  build: [
    '-o',
    '--output',
    '--work-dir',
    '--manifest-yaml',
    '--allow-unpinned',
    '--allow-host-files',
    '--json',
    '--json-log',
    '--sign-key',
    '--images-auto',
  ],
  lint: ['--json', '--allow-unpinned', '--images-auto'],
  inspect: ['--json', '--key'],
  verify: ['--json', '--no-checksum', '--key'],
  help: [],
};

/** The value of every flag that is not given. */
const FLAG_DEFAULTS = {
  json: false,
  manifestYaml: false,
  allowUnpinned: false,
  allowHostFiles: false,
  checksum: true,
  imagesAuto: false,
} as const;

/** What `help`, `-h` and `--help` parse to. */
const HELP_ARGS: SolutionArgs = { command: 'help', target: '', ...FLAG_DEFAULTS };

function isCommand(s: string | undefined): s is SolutionCommand {
  return s !== undefined && s in ALLOWED;
}

/** Parses argv (without node and the script). Throws SolutionUsageError. */
export function parseSolutionArgs(argv: readonly string[]): SolutionArgs {
  const [first, ...rest] = argv;
  if (first === undefined || first === '--help' || first === '-h' || first === 'help') {
    return HELP_ARGS;
  }
  if (!isCommand(first)) throw new SolutionUsageError(`unknown command "${first}"`);
  const out: Record<string, unknown> = { command: first, ...FLAG_DEFAULTS };
  const positional: string[] = [];
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i] ?? '';
    const [flag = a, inline] =
      a.startsWith('--') && a.includes('=')
        ? [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)]
        : [a, undefined];
    if (!flag.startsWith('-') || flag === '-') {
      positional.push(a);
      continue;
    }
    if (flag === '--help' || flag === '-h') return HELP_ARGS;
    if (!ALLOWED[first].includes(flag))
      throw new SolutionUsageError(`${first}: unknown option ${flag}`);
    if (flag === '--no-checksum') out.checksum = false;
    const boolKey = BOOL_FLAGS[flag];
    if (boolKey !== undefined) out[boolKey] = true;
    const valueKey = VALUE_FLAGS[flag];
    if (valueKey !== undefined) {
      const v = inline ?? rest[++i];
      if (v === undefined || v === '')
        throw new SolutionUsageError(`${first}: ${flag} needs a value`);
      out[valueKey] = v;
    }
  }
  if (positional.length !== 1) {
    throw new SolutionUsageError(
      `${first}: expected one ${first === 'inspect' || first === 'verify' ? 'ISO file' : 'directory'}, got ${positional.length}`,
    );
  }
  out.target = positional[0];
  if (first === 'verify' && out.key !== undefined && out.checksum === false) {
    throw new SolutionUsageError(
      'verify: --key checks the signature of SHA256SUM, which --no-checksum skips; drop one of them',
    );
  }
  if (first === 'init' && (out.name === undefined || out.version === undefined)) {
    throw new SolutionUsageError('init: --name and --version are required');
  }
  return out as unknown as SolutionArgs;
}
