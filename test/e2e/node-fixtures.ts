/**
 * A node's `/srv/scality/<env>` archives for the node tests, under a temp dir: platform
 * versions (product.txt, the Salt tree's repo files and registry includes as the build writes
 * them, images) and Solutions (product.txt, registry-config.inc.j2 in the reference format,
 * images). Images are real: gzip tar layers with their diff_ids, so containerd can unpack them.
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { copyFile, cp, mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { MEDIA_DOCKER_LIST, MEDIA_DOCKER_MANIFEST } from '../../buildchain/lib/oci/manifest.ts';
import { writeIso } from '../../buildchain/media/iso/write-iso.ts';
import { REQUIRED_LAYOUT } from '../../buildchain/tasks/iso/verify.ts';
import { generateRegistryConfig } from '../../buildchain/tasks/images/nginx-registry-config.ts';
import { scanImagesDir } from '../../buildchain/tasks/images/registry-scan.ts';
import { registryNaming } from '../../buildchain/tasks/images/write-registry-config.ts';
import { renderRegistryConfig } from '../../buildchain/tasks/solution/build/registry-config.ts';
import { helloImage } from '../helpers/docker-image.ts';
import { renderJinjaFile } from '../helpers/jinja.ts';
import { renderArchiveRegistryConfig } from '../helpers/solution-archive.ts';

const REPO = path.resolve(import.meta.dirname, '../..');
const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

/** An image to lay out: `platforms` > 1 makes a Docker manifest list (`platforms: all`). */
export interface FixtureImage {
  readonly name: string;
  readonly tag: string;
  readonly platforms?: readonly string[];
}

/** One platform's manifest bytes, its blobs written into `dir`. */
async function writePlatform(dir: string, label: string, architecture: string): Promise<Buffer> {
  const { config, layer, manifest } = await helloImage(`${label} ${architecture}\n`, architecture);
  await writeFile(path.join(dir, sha256(layer)), layer);
  await writeFile(path.join(dir, sha256(config)), config);
  return manifest;
}

/** `images/<name>/<tag>/` in skopeo's `dir:` layout; returns the manifest.json bytes. */
export async function writeImage(
  archive: string,
  label: string,
  image: FixtureImage,
): Promise<Buffer> {
  const dir = path.join(archive, 'images', image.name, image.tag);
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(dir, 'version'), 'Directory Transport Version: 1.1\n');
  const platforms = image.platforms ?? ['amd64'];
  let manifest: Buffer;
  if (platforms.length === 1) {
    manifest = await writePlatform(dir, label, platforms[0] ?? 'amd64');
  } else {
    const manifests = [];
    for (const architecture of platforms) {
      const m = await writePlatform(dir, label, architecture);
      await writeFile(path.join(dir, `${sha256(m)}.manifest.json`), m);
      manifests.push({
        mediaType: MEDIA_DOCKER_MANIFEST,
        size: m.length,
        digest: `sha256:${sha256(m)}`,
        platform: { architecture, os: 'linux' },
      });
    }
    manifest = Buffer.from(
      JSON.stringify({ schemaVersion: 2, mediaType: MEDIA_DOCKER_LIST, manifests }),
    );
  }
  await writeFile(path.join(dir, 'manifest.json'), manifest);
  return manifest;
}

/**
 * A platform archive at `<srv>/metalk8s-<version>`: product.txt, the repository's Salt tree
 * (salt/metalk8s as shipped, with a versions.json), the registry includes written as
 * images:registry-config writes them, and the images. Returns the archive path.
 */
export async function writePlatformArchive(
  srv: string,
  version: string,
  images: readonly FixtureImage[],
): Promise<string> {
  const archive = path.join(srv, `metalk8s-${version}`);
  await writeFile(
    path.join(await mkdirp(archive), 'product.txt'),
    `NAME=MetalK8s\nVERSION=${version}\n`,
  );
  for (const image of images) await writeImage(archive, `metalk8s-${version}`, image);
  await cp(path.join(REPO, 'salt', 'metalk8s'), path.join(archive, 'salt', 'metalk8s'), {
    recursive: true,
  });
  await writeFile(
    path.join(archive, 'salt/metalk8s/versions.json'),
    JSON.stringify({ version, images: { nginx: { version: '1.15.8' } } }),
  );
  const files = path.join(archive, 'salt/metalk8s/repo/files');
  const naming = registryNaming('MetalK8s', version);
  const scan = await scanImagesDir(path.join(archive, 'images'));
  if (scan.warnings.length > 0) throw new Error(scan.warnings.join('\n'));
  await writeFile(
    path.join(files, 'metalk8s-registry-common.inc'),
    generateRegistryConfig({ repos: [], serverRoot: naming.serverRoot, constants: 'only' }),
  );
  await writeFile(
    path.join(files, 'metalk8s-registry.inc'),
    generateRegistryConfig({ repos: scan.repos, ...naming, constants: 'omit' }),
  );
  return archive;
}

/**
 * A platform ISO of `version` (the cheap way: the tree of {@link writePlatformArchive} plus the
 * rest of the required layout and 2 MB of filler for the implanted md5, written by writeIso),
 * with SHA256SUM beside it. Returns the ISO path.
 */
export async function writePlatformIso(
  work: string,
  version: string,
  images: readonly FixtureImage[],
): Promise<string> {
  const tree = await writePlatformArchive(path.join(work, 'trees'), version, images);
  const short = version.split('.').slice(0, 2).join('.');
  await writeFile(
    path.join(tree, 'product.txt'),
    `NAME=MetalK8s\nVERSION=${version}\nSHORT_VERSION=${short}\nGIT=\nDEVELOPMENT_RELEASE=0\n` +
      'BUILD_TIMESTAMP=2023-11-14T22:13:20Z\nBUILD_HOST=h\nSOURCES=embedded\n',
  );
  for (const rel of REQUIRED_LAYOUT) {
    const file = path.join(tree, rel);
    if (existsSync(file)) continue;
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(file, `# ${rel}\n`);
  }
  await writeFile(path.join(tree, 'filler.bin'), randomBytes(2_000_000));
  const iso = path.join(work, 'isos', `metalk8s-${version}`, 'metalk8s.iso');
  await mkdir(path.dirname(iso), { recursive: true });
  await writeIso({ root: tree, output: iso, volumeId: `MetalK8s ${version}`, epoch: 1700000000 });
  return iso;
}

/**
 * A Solution at `<srv>/<env>` (env = `<name lowercased>-<version>`): product.txt, the images
 * and `registry-config.inc.j2` in the reference format, as Solution builds write it.
 */
export async function writeSolutionArchive(
  srv: string,
  name: string,
  version: string,
  images: readonly FixtureImage[],
): Promise<{ env: string; archive: string }> {
  const env = `${name.toLowerCase().replaceAll(' ', '-')}-${version}`;
  const archive = await mkdirp(path.join(srv, env));
  await writeFile(
    path.join(archive, 'product.txt'),
    `NAME=${name}\nVERSION=${version}\nREQUIRE_METALK8S=">=2.4.0"\nARCHIVE_LAYOUT_VERSION=1\n`,
  );
  const served = [];
  for (const image of images) {
    const manifest = await writeImage(archive, env, image);
    served.push({ name: image.name, tag: image.tag, manifestHex: sha256(manifest) });
  }
  await writeFile(
    path.join(archive, 'registry-config.inc.j2'),
    renderRegistryConfig(served, {
      namePrefix: '{{ repository }}',
      serverRoot: '{{ registry_root }}',
    }),
  );
  return { env, archive };
}

/** 2.4's `archives` context of the repo templates: env -> {name, version, path, iso}. */
export type ArchivesContext = Record<
  string,
  { name: string; version: string; path: string; iso: string | null }
>;

/** What {@link writePodConfD} puts into conf.d. */
export interface PodConfD {
  /** The platform archives (`path`: where mounted or extracted), each with its include. */
  readonly archives: ArchivesContext;
  /** The env whose Salt tree renders the shared files (the newest version's). */
  readonly newest: string;
  /** Solutions: the archive, rendered with `repository` (its env, as 2.4 gives it). */
  readonly solutions: readonly { readonly archive: string; readonly repository: string }[];
}

/**
 * conf.d as 2.4's repo states fill it (see docs/iso.md), the templates rendered with
 * python3-jinja2: `90-registry-config.inc` from the newest Salt tree with `archives`, each
 * platform's `99-<env>-registry.inc`, the newest's `99-registry-common.inc`, and each
 * Solution's `<repository>-registry-config.inc` with its images as `registry_root`.
 */
export async function writePodConfD(dir: string, o: PodConfD): Promise<void> {
  await mkdir(dir, { recursive: true });
  const files = (env: string): string =>
    path.join(o.archives[env]?.path ?? '', 'salt/metalk8s/repo/files');
  await writeFile(
    path.join(dir, '90-registry-config.inc'),
    await renderJinjaFile(path.join(files(o.newest), 'metalk8s-registry-config.inc.j2'), {
      archives: o.archives,
    }),
  );
  for (const env of Object.keys(o.archives)) {
    await copyFile(
      path.join(files(env), 'metalk8s-registry.inc'),
      path.join(dir, `99-${env}-registry.inc`),
    );
  }
  await copyFile(
    path.join(files(o.newest), 'metalk8s-registry-common.inc'),
    path.join(dir, '99-registry-common.inc'),
  );
  for (const s of o.solutions) {
    await writeFile(
      path.join(dir, `${s.repository}-registry-config.inc`),
      await renderArchiveRegistryConfig(s.archive, s.repository),
    );
  }
}

async function mkdirp(dir: string): Promise<string> {
  await mkdir(dir, { recursive: true });
  return dir;
}

/** The bytes of `images/<name>/<tag>/manifest.json` of an archive. */
export function manifestOf(archive: string, image: FixtureImage): Promise<Buffer> {
  return readFile(path.join(archive, 'images', image.name, image.tag, 'manifest.json'));
}
