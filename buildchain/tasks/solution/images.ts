/**
 * Gets the images of a Solution into `<workDir>/images/<name>/<version>/` (skopeo `dir:` layout,
 * Docker v2s2, gzip layers): remote images are pulled by pinned digest through the Sources of
 * the build, local images are built with buildah (FROM scratch works offline). Every blob goes
 * through the shared blob store, and layouts are hard links into it (dedup by construction).
 */
import { createHash, randomBytes } from 'node:crypto';
import { copyFile, cp, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { ImageEntry } from '../../config/content-types.ts';
import { TaskError } from '../../engine/task.ts';
import { openBlobStore } from '../images/blob-store.ts';
import { materialiseLayout } from '../images/layout.ts';
import type { Sources } from '../sources.ts';
import type { CommandRunner } from './run-command.ts';
import type { SolutionImage } from './solution-config.ts';
import { hashTree } from './tree-hash.ts';

/** Options for {@link fetchSolutionImages}. */
export interface FetchImagesOptions {
  readonly solutionDir: string;
  /** Work directory (`<solution>/_build` by default). */
  readonly workDir: string;
  /** Shared blob store directory. */
  readonly blobDir: string;
  /** Seconds since the epoch for image timestamps of local builds. */
  readonly epoch: number;
  readonly skopeo: string;
  readonly buildah: string;
  /** Needed only when the list has remote images. */
  readonly sources?: Sources;
  readonly run: CommandRunner;
  readonly log?: (line: string) => void;
}

const HEX64 = /^[a-f0-9]{64}$/;

/** Where the layout of an image lives. */
export function imageLayoutDir(workDir: string, img: ImageEntry): string {
  return path.join(workDir, 'images', img.name, img.version);
}

/** Identity of what produces an image: changes when it must be fetched or built again. */
export async function imageKey(img: SolutionImage, solutionDir: string, epoch: number): Promise<string> {
  const parts: unknown[] = [img, 'solution-image@1'];
  if (img.build !== undefined) parts.push(epoch, await hashTree(path.join(solutionDir, img.build.context)));
  for (const [dest, src] of Object.entries(img.hostFiles ?? {}).sort()) {
    parts.push(dest, createHash('sha256').update(await readFile(src)).digest('hex'));
  }
  return createHash('sha256').update(JSON.stringify(parts)).digest('hex');
}

async function adoptDirLayout(tmp: string, dest: string, blobDir: string): Promise<void> {
  const store = openBlobStore(blobDir);
  const manifest = await readFile(path.join(tmp, 'manifest.json'));
  const blobs: string[] = [];
  for (const f of (await readdir(tmp)).sort()) {
    if (HEX64.test(f)) blobs.push(await store.adopt(path.join(tmp, f), `sha256:${f}`));
  }
  await materialiseLayout({ dest, manifest, blobs });
}

function storeArgs(workDir: string): string[] {
  const c = path.join(workDir, 'containers');
  return ['--root', path.join(c, 'root'), '--runroot', path.join(c, 'runroot'), '--storage-driver', 'vfs'];
}

/** Copies the build context and its host files into the work directory. */
async function stageContext(img: SolutionImage, context: string, o: FetchImagesOptions): Promise<string> {
  const staged = path.join(o.workDir, 'contexts', `${img.name}-${img.version}`);
  await rm(staged, { recursive: true, force: true });
  await cp(context, staged, { recursive: true, verbatimSymlinks: true });
  for (const [dest, src] of Object.entries(img.hostFiles ?? {})) {
    const to = path.join(staged, dest);
    await mkdir(path.dirname(to), { recursive: true });
    await copyFile(src, to);
  }
  return staged;
}

async function buildLocal(img: SolutionImage, tmp: string, o: FetchImagesOptions): Promise<void> {
  const build = img.build;
  if (build === undefined) throw new TaskError('internal-error', `${img.name} has no build`);
  const context = await stageContext(img, path.join(o.solutionDir, build.context), o);
  const ref = `localhost/${img.name}:${img.version}`;
  const argv = [o.buildah, ...storeArgs(o.workDir), 'bud', '--isolation=chroot', '--timestamp', String(o.epoch), '-t', ref];
  if (build.file !== undefined) argv.push('-f', path.join(context, build.file));
  for (const [k, v] of Object.entries(build.args ?? {}).sort()) argv.push('--build-arg', `${k}=${v}`);
  argv.push(context);
  await o.run(argv);
  const oci = path.join(o.workDir, 'oci', `${img.name}-${img.version}`);
  await rm(oci, { recursive: true, force: true });
  await mkdir(path.dirname(oci), { recursive: true });
  await o.run([o.buildah, ...storeArgs(o.workDir), 'push', '-q', ref, `oci:${oci}:image`]);
  await o.run([o.skopeo, 'copy', '-q', '--format', 'v2s2', '--dest-compress', `oci:${oci}:image`, `dir:${tmp}`]);
  await rm(oci, { recursive: true, force: true });
  await rm(context, { recursive: true, force: true });
}

async function pullRemote(img: ImageEntry, tmp: string, o: FetchImagesOptions): Promise<void> {
  const src = img.source;
  if (src === undefined || o.sources === undefined) {
    throw new TaskError('internal-error', `${img.name}: remote image without source or Sources`);
  }
  const endpoint = await o.sources.registry(src.registry);
  const digest = await o.sources.imageDigest(img);
  if (digest === undefined) {
    throw new TaskError('invalid-input', `image ${img.name}:${img.version} has no pinned digest`, { hint: 'add digest: sha256:... to solution.yaml' });
  }
  const repo = [endpoint.pathPrefix, src.repository].filter((s) => s !== '').join('/');
  const argv = [o.skopeo, '--override-os', 'linux', '--override-arch', 'amd64', 'copy', '-q', '--format', 'v2s2', '--dest-compress'];
  if (endpoint.insecure) argv.push('--src-tls-verify=false');
  if (endpoint.authFile !== undefined) argv.push('--src-authfile', endpoint.authFile);
  argv.push(`docker://${endpoint.host}/${repo}@${digest}`, `dir:${tmp}`);
  await o.run(argv);
}

/** Fetches one image unless its layout is present and its key unchanged. */
export async function fetchSolutionImage(img: SolutionImage, o: FetchImagesOptions): Promise<void> {
  const dest = imageLayoutDir(o.workDir, img);
  const keyFile = path.join(o.workDir, 'image-keys', `${img.name}@${img.version}`);
  const key = await imageKey(img, o.solutionDir, o.epoch);
  const previous = await readFile(keyFile, 'utf8').catch(() => '');
  const present = await readFile(path.join(dest, 'manifest.json')).then(() => true, () => false);
  if (previous === key && present) {
    o.log?.(`image ${img.name}:${img.version} up to date`);
    return;
  }
  await rm(keyFile, { force: true });
  const tmp = path.join(o.workDir, 'tmp', `${img.name}-${img.version}-${randomBytes(4).toString('hex')}`);
  await mkdir(path.dirname(tmp), { recursive: true });
  try {
    o.log?.(`image ${img.name}:${img.version}: ${img.build !== undefined ? 'building' : 'pulling'}`);
    if (img.build !== undefined) await buildLocal(img, tmp, o);
    else await pullRemote(img, tmp, o);
    await adoptDirLayout(tmp, dest, o.blobDir);
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
  await mkdir(path.dirname(keyFile), { recursive: true });
  await writeFile(keyFile, key);
}

/** Fetches every image, one at a time (buildah's vfs store is not safe for parallel use). */
export async function fetchSolutionImages(images: readonly SolutionImage[], o: FetchImagesOptions): Promise<void> {
  for (const img of images) await fetchSolutionImage(img, o);
}
