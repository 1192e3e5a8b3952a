/**
 * Image checks of an extracted ISO tree (pure file reads, no tools): every
 * `images/<name>/<tag>/` layout (manifest, blobs, per-platform manifests of lists), and every
 * manifest the shipped nginx registry includes serve, with the digest they announce.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { walkTree } from '../../lib/fs/walk.ts';
import { addProblem, digestOf, isFile, subdirs, type CheckReport } from './verify-tree.ts';

interface Descriptor {
  readonly digest?: string;
  readonly mediaType?: string;
}

interface ManifestShape {
  readonly config?: Descriptor;
  readonly layers?: Descriptor[];
  readonly manifests?: Descriptor[];
}

/** The bare hex of a `sha256:<hex>` descriptor, or undefined (reported) when malformed. */
function hexOf(d: Descriptor, label: string, report: CheckReport): string | undefined {
  const hex = /^sha256:([a-f0-9]{64})$/.exec(d.digest ?? '')?.[1];
  if (hex === undefined)
    addProblem(
      report,
      'manifest-invalid',
      `image ${label}`,
      `malformed digest '${d.digest ?? ''}'`,
    );
  return hex;
}

/** Parses a manifest file of a layout; undefined (reported) when unreadable or not JSON. */
async function readManifestJson(
  file: string,
  label: string,
  report: CheckReport,
): Promise<ManifestShape | undefined> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as ManifestShape;
  } catch (err) {
    addProblem(
      report,
      'manifest-invalid',
      `image ${label}`,
      `${path.basename(file)} unreadable: ${String(err)}`,
    );
    return undefined;
  }
}

/** Each blob an image manifest names (config, layers) is present with its sha256. */
async function checkBlobs(
  dir: string,
  manifest: ManifestShape,
  label: string,
  report: CheckReport,
): Promise<void> {
  const blobs = [manifest.config, ...(manifest.layers ?? [])].filter(
    (d): d is Descriptor => d !== undefined,
  );
  for (const d of blobs) {
    const hex = hexOf(d, label, report);
    if (hex === undefined) continue;
    const blob = path.join(dir, hex);
    if (!(await isFile(blob))) {
      addProblem(report, 'blob-missing', `image ${label}`, `blob ${hex} is missing`);
      continue;
    }
    const actual = await digestOf(blob);
    if (actual !== hex)
      addProblem(report, 'digest-mismatch', `image ${label}`, `blob ${hex} has sha256 ${actual}`);
  }
}

/**
 * Checks one `images/<name>/<tag>/` layout: the manifest parses and each blob's sha256 matches.
 * A list or index (`platforms: all`) names per-platform manifests, stored as
 * `<hex>.manifest.json` (skopeo's dir transport): each must be there with that sha256, and the
 * blobs it names are checked in turn.
 */
async function checkImageDir(dir: string, label: string, report: CheckReport): Promise<void> {
  const manifest = await readManifestJson(path.join(dir, 'manifest.json'), label, report);
  if (manifest === undefined) return;
  if (!Array.isArray(manifest.manifests)) {
    await checkBlobs(dir, manifest, label, report);
    return;
  }
  for (const d of manifest.manifests) {
    const hex = hexOf(d, label, report);
    if (hex === undefined) continue;
    const file = path.join(dir, `${hex}.manifest.json`);
    if (!(await isFile(file))) {
      addProblem(
        report,
        'manifest-missing',
        `image ${label}`,
        `platform manifest ${hex}.manifest.json is missing`,
      );
      continue;
    }
    const actual = await digestOf(file);
    if (actual !== hex) {
      addProblem(
        report,
        'digest-mismatch',
        `image ${label}`,
        `platform manifest ${hex}.manifest.json has sha256 ${actual}`,
      );
      continue;
    }
    const instance = await readManifestJson(file, label, report);
    if (instance !== undefined) await checkBlobs(dir, instance, label, report);
  }
}

/** All image layouts under `images/`, plus every `<name>/<tag>/manifest.json` named by a registry include. */
export async function checkImages(tree: string, report: CheckReport): Promise<string[]> {
  const root = path.join(tree, 'images');
  const found: string[] = [];
  for (const name of await subdirs(root)) {
    for (const tag of await subdirs(path.join(root, name))) {
      if (!(await isFile(path.join(root, name, tag, 'manifest.json')))) continue;
      found.push(`${name}:${tag}`);
      await checkImageDir(path.join(root, name, tag), `${name}:${tag}`, report);
    }
  }
  for (const inc of await registryIncludes(tree)) {
    const text = await readFile(inc, 'utf8');
    for (const m of text.matchAll(/([A-Za-z0-9._-]+)\/([A-Za-z0-9._-]+)\/manifest\.json/g)) {
      const [, name, tag] = m;
      if (name !== undefined && tag !== undefined && !found.includes(`${name}:${tag}`)) {
        addProblem(
          report,
          'image-missing',
          `registry config ${path.relative(tree, inc)}`,
          `image ${name}:${tag} is not on the ISO`,
        );
      }
    }
  }
  await checkServedDigests(tree, report);
  await checkNamedLocations(tree, report);
  report.checked.push(`images: ${found.length} layouts (manifests and blob digests)`);
  return found;
}

/** A manifest location of a registry include: the file it serves and the digest it announces. */
export interface ServedManifestFile {
  readonly name: string;
  readonly tag: string;
  /** `manifest.json` or `<hex>.manifest.json`. */
  readonly file: string;
  readonly digest: string;
}

/**
 * The manifest locations of an nginx registry include, ours or the reference generator's
 * (`alias <root>/<name>/<tag>/`, `Docker-Content-Digest`, `try_files <file> =404`).
 */
export function servedManifestFiles(text: string): ServedManifestFile[] {
  const out: ServedManifestFile[] = [];
  for (const m of text.matchAll(
    /^location = ("?)\/v2\/\S*?\/manifests\/[^"\s]+\1 \{\n([\s\S]*?)\n\}/gm,
  )) {
    const body = m[2] ?? '';
    const alias = /^\s*alias "?[^"\n]*\/([^/"\n]+)\/([^/"\n]+)\/"?;$/m.exec(body);
    const digest = /Docker-Content-Digest'? ["']?(sha256:[a-f0-9]{64})["']?/.exec(body)?.[1];
    const file = /try_files (\S+) =404;/.exec(body)?.[1];
    if (
      alias?.[1] !== undefined &&
      alias[2] !== undefined &&
      digest !== undefined &&
      file !== undefined
    ) {
      out.push({ name: alias[1], tag: alias[2], file, digest });
    }
  }
  return out;
}

/**
 * Every manifest a registry include serves is on the ISO with the digest the include announces
 * (`Docker-Content-Digest`): a tampered manifest, a list's included, is caught even though no
 * other file names its digest.
 */
async function checkServedDigests(tree: string, report: CheckReport): Promise<void> {
  const digests = new Map<string, string | undefined>();
  for (const inc of await registryIncludes(tree)) {
    const subject = `registry config ${path.relative(tree, inc)}`;
    for (const s of servedManifestFiles(await readFile(inc, 'utf8'))) {
      const file = path.join(tree, 'images', s.name, s.tag, s.file);
      if (!digests.has(file))
        digests.set(file, (await isFile(file)) ? `sha256:${await digestOf(file)}` : undefined);
      const actual = digests.get(file);
      if (actual === undefined) {
        addProblem(
          report,
          'image-missing',
          subject,
          `${s.name}/${s.tag}/${s.file} is not on the ISO`,
        );
      } else if (actual !== s.digest) {
        addProblem(
          report,
          'digest-mismatch',
          subject,
          `serves ${s.name}/${s.tag}/${s.file} as ${s.digest}, but its sha256 is ${actual.slice(7)}`,
        );
      }
    }
  }
}

/**
 * The includes of one server: every named location an include sends errors to
 * (`error_page 404 [=] @name`) is defined by one of them (the common include), else nginx
 * answers 500 where a puller expects a 404.
 */
async function checkNamedLocations(tree: string, report: CheckReport): Promise<void> {
  const defined = new Set<string>();
  const used = new Map<string, string>();
  for (const inc of await registryIncludes(tree)) {
    const text = await readFile(inc, 'utf8');
    for (const m of text.matchAll(/^\s*location (@[\w-]+) \{/gm)) defined.add(m[1] ?? '');
    for (const m of text.matchAll(/error_page [0-9 ]+=?\s*(@[\w-]+);/g)) {
      const name = m[1] ?? '';
      if (!used.has(name)) used.set(name, path.relative(tree, inc));
    }
  }
  for (const [name, where] of [...used].sort()) {
    if (!defined.has(name)) {
      addProblem(
        report,
        'registry-config-invalid',
        `registry config ${where}`,
        `uses the named location ${name}, which no shipped include defines (nginx would answer 500 instead of 404)`,
      );
    }
  }
}

/** nginx registry includes shipped in the tree (`*.inc`, `*.inc.j2` mentioning `/v2/`). */
async function registryIncludes(tree: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await walkTree(path.join(tree, 'salt'), { missingOk: true })) {
    if (
      e.kind !== 'dir' &&
      /\.inc(\.j2)?$/.test(e.rel) &&
      (await readFile(e.path, 'utf8')).includes('/v2/')
    )
      out.push(e.path);
  }
  return out.sort();
}
