/**
 * Checks of an extracted ISO tree (pure file reads, no tools): layout, container images
 * (manifest and blob digests, registry includes), yum repositories (repodata vs RPMs).
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { walkTree, type WalkEntry } from '../../lib/fs/walk.ts';
import { problem, type Problem } from '../../lib/problem.ts';

/** Problems found (empty: fine) and what was checked, for the report. */
export interface CheckReport {
  readonly checked: string[];
  /** Rendered by {@link formatProblem} as `subject: message` (e.g. `layout: x is missing`). */
  readonly problems: Problem[];
}

export function newReport(): CheckReport {
  return { checked: [], problems: [] };
}

/** Records a problem of the ISO: `subject: message` when rendered, always an error. */
export function addProblem(
  report: CheckReport,
  kind: string,
  subject: string,
  message: string,
): void {
  report.problems.push(problem(kind, subject, message));
}

async function digestOf(file: string, algo = 'sha256'): Promise<string> {
  const h = createHash(algo);
  for await (const c of createReadStream(file, { highWaterMark: 4 << 20 })) h.update(c as Buffer);
  return h.digest('hex');
}

async function isFile(p: string): Promise<boolean> {
  return stat(p).then(
    (s) => s.isFile(),
    () => false,
  );
}

async function subdirs(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  return entries
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .sort();
}

/** Every path in `required` (relative) must exist in the tree. */
export async function checkLayout(
  tree: string,
  required: readonly string[],
  report: CheckReport,
): Promise<void> {
  for (const rel of required) {
    const ok = await stat(path.join(tree, rel)).then(
      () => true,
      () => false,
    );
    if (!ok) addProblem(report, 'missing-file', 'layout', `${rel} is missing`);
  }
  report.checked.push(`layout: ${required.length} required entries`);
}

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

/** `{ href, checksum, type }` of each `<data>` entry of repomd.xml. */
export function parseRepomd(
  xml: string,
): { type: string; href: string; checksum: string; algo: string }[] {
  const out = [];
  for (const m of xml.matchAll(/<data type="([^"]+)">([\s\S]*?)<\/data>/g)) {
    const body = m[2] ?? '';
    const cs = /<checksum type="([^"]+)">([a-f0-9]+)<\/checksum>/.exec(body);
    const href = /<location href="([^"]+)"/.exec(body)?.[1];
    if (cs?.[1] !== undefined && cs[2] !== undefined && href !== undefined) {
      out.push({ type: m[1] ?? '', href, checksum: cs[2], algo: cs[1] });
    }
  }
  return out;
}

/** `{ href, checksum, algo }` of each package in primary.xml. */
export function parsePrimary(xml: string): { href: string; checksum: string; algo: string }[] {
  const out = [];
  for (const m of xml.matchAll(/<package type="rpm">([\s\S]*?)<\/package>/g)) {
    const body = m[1] ?? '';
    const cs = /<checksum type="([^"]+)"[^>]*>([a-f0-9]+)<\/checksum>/.exec(body);
    const href = /<location (?:xml:base="[^"]*" )?href="([^"]+)"/.exec(body)?.[1];
    if (cs?.[1] !== undefined && cs[2] !== undefined && href !== undefined) {
      out.push({ href, checksum: cs[2], algo: cs[1] === 'sha' ? 'sha1' : cs[1] });
    }
  }
  return out;
}

/** RPM files under `dir` (relative), `repodata/` directories skipped. */
async function rpmsUnder(dir: string): Promise<string[]> {
  const notRepodata = (e: WalkEntry): boolean =>
    !(e.kind === 'dir' && path.basename(e.rel) === 'repodata');
  return (await walkTree(dir, { filter: notRepodata }))
    .filter((e) => e.kind === 'file' && e.rel.endsWith('.rpm'))
    .map((e) => e.rel);
}

/** One repo: repomd checksums, primary's packages present with matching checksums, no extra RPM. */
async function checkRepo(repo: string, label: string, report: CheckReport): Promise<number> {
  const entries = parseRepomd(await readFile(path.join(repo, 'repodata', 'repomd.xml'), 'utf8'));
  let primary: ReturnType<typeof parsePrimary> | undefined;
  for (const e of entries) {
    const file = path.join(repo, e.href);
    if (!(await isFile(file))) {
      addProblem(report, 'missing-file', `repo ${label}`, `${e.href} is missing`);
      continue;
    }
    const actual = await digestOf(file, e.algo === 'sha' ? 'sha1' : e.algo);
    if (actual !== e.checksum)
      addProblem(report, 'digest-mismatch', `repo ${label}`, `${e.href} checksum mismatch`);
    else if (e.type === 'primary')
      primary = parsePrimary(gunzipSync(await readFile(file)).toString('utf8'));
  }
  if (primary === undefined) {
    addProblem(report, 'repodata-invalid', `repo ${label}`, 'no valid primary metadata');
    return 0;
  }
  const listed = new Set(primary.map((p) => p.href));
  for (const p of primary) {
    const file = path.join(repo, p.href);
    if (!(await isFile(file)))
      addProblem(report, 'missing-file', `repo ${label}`, `${p.href} listed but missing`);
    else if ((await digestOf(file, p.algo)) !== p.checksum)
      addProblem(report, 'digest-mismatch', `repo ${label}`, `${p.href} checksum mismatch`);
  }
  for (const rpm of await rpmsUnder(repo)) {
    if (!listed.has(rpm))
      addProblem(report, 'repodata-mismatch', `repo ${label}`, `${rpm} is not in the repodata`);
  }
  return primary.length;
}

/** Every directory holding `repodata/repomd.xml` under `packages/`. */
export async function checkRepositories(tree: string, report: CheckReport): Promise<string[]> {
  const repos: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    if (await isFile(path.join(dir, 'repodata', 'repomd.xml'))) {
      repos.push(dir);
      return;
    }
    for (const d of await subdirs(dir)) await walk(path.join(dir, d));
  };
  await walk(path.join(tree, 'packages'));
  let rpms = 0;
  for (const r of repos) rpms += await checkRepo(r, path.relative(tree, r), report);
  report.checked.push(`repositories: ${repos.length} repos, ${rpms} RPMs`);
  return repos.map((r) => path.relative(tree, r));
}
