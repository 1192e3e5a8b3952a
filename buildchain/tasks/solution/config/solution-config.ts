/**
 * The Solution config file (`solution.yaml` at the Solution root): product fields and the image
 * list. Parsing is pure and collects problems instead of throwing.
 */
import YAML from 'yaml';
import type { ImageEntry } from '../../../config/content-types.ts';
import { error, type Problem } from '../lint/problems.ts';

export const CONFIG_FILE = 'solution.yaml';

/**
 * An image of the Solution. `hostFiles` (local builds only) maps a path inside the build context
 * to a file of the build host copied there before the build (e.g. `busybox: /bin/busybox`), so
 * that binaries need not be committed; their contents are part of the image's up-to-date key.
 */
export interface SolutionImage extends ImageEntry {
  readonly hostFiles?: Readonly<Record<string, string>>;
  /**
   * `platforms:` of a remote image whose source is an index (multi-arch): `all` keeps the whole
   * index, a list (`linux/amd64`, `linux/arm64/v8`) exactly those instances; the index is then
   * the tag's manifest. Absent: the linux/amd64 image alone, as a single manifest.
   */
  readonly keepPlatforms?: 'all' | readonly string[];
}

/** `os/architecture[/variant]`, as OCI indexes write platforms. */
export const PLATFORM_PATTERN = /^[a-z0-9]+\/[a-z0-9_]+(?:\/[a-z0-9]+)?$/;

/** `platforms:` of an image: undefined (absent), the value, or 'invalid' (a problem pushed). */
function parsePlatforms(
  raw: unknown,
  label: string,
  local: boolean,
  problems: Problem[],
): 'all' | readonly string[] | undefined | 'invalid' {
  if (raw === undefined || raw === null) return undefined;
  const fix =
    'write `platforms: all` or a list such as `platforms: [linux/amd64, linux/arm64]` (os/architecture[/variant])';
  const bad = (what: string, f = fix): 'invalid' => {
    problems.push(error('image-platforms', CONFIG_FILE, `${label}: platforms ${what}`, f));
    return 'invalid';
  };
  if (local)
    return bad(
      'applies to remote images only: a local build makes one linux/amd64 image',
      'remove platforms from this image, or ship a multi-arch image from a registry (source: and digest:)',
    );
  if (raw === 'all') return 'all';
  if (!Array.isArray(raw) || raw.length === 0)
    return bad(`${JSON.stringify(raw)} is neither "all" nor a non-empty list`);
  const seen = new Set<string>();
  for (const p of raw as unknown[]) {
    if (typeof p !== 'string' || !PLATFORM_PATTERN.test(p))
      return bad(`entry ${JSON.stringify(p)} is not os/architecture[/variant]`);
    if (seen.has(p)) return bad(`lists ${p} twice`, 'list each platform once');
    seen.add(p);
  }
  return [...seen];
}

/** The parsed Solution config. Fields are as written; `lint` validates them. */
export interface SolutionConfig {
  readonly name: string;
  readonly version: string;
  readonly requireMetalK8s: string;
  readonly archiveLayoutVersion: number;
  /** Also write the later `manifest.yaml` layout (default false). */
  readonly manifestYaml: boolean;
  /** `<name>:<tag>` of the image carrying the operator (for manifest.yaml). */
  readonly operatorImage?: string;
  readonly uiImage?: string;
  readonly images: readonly SolutionImage[];
  /**
   * `images: auto` (or `build --images-auto`): the images the manifests reference and the list
   * lacks are added, built from `images/<name>/` (auto-images.ts).
   */
  readonly imagesAuto?: boolean;
}

/** Result of {@link parseSolutionConfig}; `config` is undefined when unusable. */
export interface ParseConfigResult {
  readonly config: SolutionConfig | undefined;
  readonly problems: readonly Problem[];
}

function str(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return String(v);
  return undefined;
}

function parseSource(src: unknown): ImageEntry['source'] | 'invalid' {
  const s = str(src);
  if (s === undefined) return 'invalid';
  const slash = s.indexOf('/');
  if (slash <= 0 || slash === s.length - 1) return 'invalid';
  return { registry: s.slice(0, slash), repository: s.slice(slash + 1) };
}

/** `hostFiles` as a mapping of path in the context -> absolute host path (strings only). */
function parseHostFiles(
  raw: unknown,
  label: string,
  problems: Problem[],
): Record<string, string> | undefined {
  if (raw === undefined || raw === null) return undefined;
  const entries = typeof raw === 'object' && !Array.isArray(raw) ? Object.entries(raw) : undefined;
  if (entries === undefined || entries.some(([, v]) => typeof v !== 'string')) {
    problems.push(
      error(
        'config-invalid',
        CONFIG_FILE,
        `${label}: build.hostFiles must map a path in the build context to an absolute host path`,
        'write e.g. `hostFiles: {busybox: /bin/busybox}` (see docs/solution.md), or remove it',
      ),
    );
    return undefined;
  }
  return Object.fromEntries(entries);
}

function parseImage(raw: unknown, index: number, problems: Problem[]): SolutionImage | undefined {
  const where = CONFIG_FILE;
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    problems.push(
      error(
        'config-invalid',
        where,
        `images[${index}] is not a mapping`,
        'write each image as a mapping with name, version and source or build',
      ),
    );
    return undefined;
  }
  const r = raw as Record<string, unknown>;
  const name = str(r.name) ?? '';
  const version = str(r.version) ?? '';
  const label = `image ${name === '' ? `#${index}` : name}`;
  const digest = str(r.digest);
  let build: ImageEntry['build'];
  let source: ImageEntry['source'];
  let hostFiles: Record<string, string> | undefined;
  if (r.build !== undefined) {
    const b = r.build as Record<string, unknown> | null;
    const context = b === null ? undefined : str(b.context);
    if (context === undefined) {
      problems.push(
        error(
          'config-invalid',
          where,
          `${label}: build.context is missing`,
          'set build.context to a directory of the Solution, e.g. images/<name>',
        ),
      );
      return undefined;
    }
    const file = b === null ? undefined : str(b.file);
    const args = b?.args as Record<string, string> | undefined;
    hostFiles = parseHostFiles(b?.hostFiles, label, problems);
    build = {
      context,
      ...(file !== undefined ? { file } : {}),
      ...(args !== undefined ? { args } : {}),
    };
  }
  if (r.source !== undefined) {
    const s = parseSource(r.source);
    if (s === 'invalid') {
      problems.push(
        error(
          'image-source',
          where,
          `${label}: source ${JSON.stringify(r.source)} is not <registry>/<repository>`,
          'write the source as e.g. docker.io/library/nginx',
        ),
      );
      return undefined;
    }
    source = s;
  }
  const keepPlatforms = parsePlatforms(r.platforms, label, build !== undefined, problems);
  if (keepPlatforms === 'invalid') return undefined;
  if ((build === undefined) === (source === undefined)) {
    problems.push(
      error(
        'image-source',
        where,
        `${label}: give exactly one of source (remote image) or build (local image)`,
        'add `source: <registry>/<repository>` with a digest, or `build: {context: ...}`',
      ),
    );
    return undefined;
  }
  return {
    name,
    version,
    ship: 'dir',
    platforms: keepPlatforms === undefined ? 'linux/amd64' : 'all',
    ...(keepPlatforms !== undefined ? { keepPlatforms } : {}),
    ...(source !== undefined ? { source } : {}),
    ...(digest !== undefined ? { digest } : {}),
    ...(build !== undefined ? { build } : {}),
    ...(hostFiles !== undefined ? { hostFiles } : {}),
  };
}

/** Parses `solution.yaml` text. */
export function parseSolutionConfig(text: string): ParseConfigResult {
  const problems: Problem[] = [];
  let doc: unknown;
  try {
    doc = YAML.parse(text, { prettyErrors: true });
  } catch (e) {
    const msg = e instanceof Error ? (e.message.split('\n')[0] ?? '') : String(e);
    problems.push(
      error('config-invalid', CONFIG_FILE, `invalid YAML: ${msg}`, 'fix the YAML syntax'),
    );
    return { config: undefined, problems };
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) {
    problems.push(
      error(
        'config-invalid',
        CONFIG_FILE,
        'the config is not a mapping',
        'write name, version, requireMetalK8s and images keys (see `metalk8s-solution init`)',
      ),
    );
    return { config: undefined, problems };
  }
  const d = doc as Record<string, unknown>;
  const known = new Set([
    'name',
    'version',
    'requireMetalK8s',
    'archiveLayoutVersion',
    'manifestYaml',
    'operatorImage',
    'uiImage',
    'images',
  ]);
  for (const key of Object.keys(d)) {
    if (!known.has(key))
      problems.push(
        error(
          'config-invalid',
          CONFIG_FILE,
          `unknown key ${key}`,
          `remove it; known keys: ${[...known].join(', ')}`,
        ),
      );
  }
  const imagesAuto = d.images === 'auto';
  const imagesRaw = imagesAuto ? [] : (d.images ?? []);
  if (!Array.isArray(imagesRaw)) {
    problems.push(
      error(
        'config-invalid',
        CONFIG_FILE,
        'images is neither a list nor `auto`',
        'write images as a YAML list, or `images: auto` to take them from the manifests',
      ),
    );
  }
  const images = (Array.isArray(imagesRaw) ? imagesRaw : [])
    .map((raw, i) => parseImage(raw, i, problems))
    .filter((x): x is SolutionImage => x !== undefined);
  const layout = d.archiveLayoutVersion ?? 1;
  const operatorImage = str(d.operatorImage);
  const uiImage = str(d.uiImage);
  const config: SolutionConfig = {
    name: str(d.name) ?? '',
    version: str(d.version) ?? '',
    requireMetalK8s: str(d.requireMetalK8s) ?? '',
    archiveLayoutVersion: typeof layout === 'number' ? layout : Number.NaN,
    manifestYaml: d.manifestYaml === true,
    ...(operatorImage !== undefined ? { operatorImage } : {}),
    ...(uiImage !== undefined ? { uiImage } : {}),
    images,
    ...(imagesAuto ? { imagesAuto } : {}),
  };
  return { config, problems };
}
