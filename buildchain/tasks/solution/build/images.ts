/**
 * Gets the images of a Solution into `<workDir>/images/<name>/<version>/` (skopeo `dir:` layout,
 * Docker v2s2, gzip layers): remote images are pulled by pinned digest through the Sources of
 * the build, local images are built with buildah (FROM scratch works offline). Every blob goes
 * through the shared blob store, and layouts are hard links into it (dedup by construction).
 */
import { createHash, randomBytes } from 'node:crypto';
import { chmod, cp, mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { ImageEntry } from '../../../config/content-types.ts';
import { TaskError } from '../../../engine/task.ts';
import { buildFileOf } from '../../../config/images.ts';
import { requireInside } from '../../../lib/fs/fence.ts';
import { readRegularFile } from '../../../lib/fs/read-bounded.ts';
import { openBlobStore } from '../../../media/images/blob-store.ts';
import { adoptDirLayout, buildLocalImage } from '../../images/build.ts';
import type { Sources } from '../../../sources/sources.ts';
import { MAX_HOST_FILE_BYTES } from '../config/host-files.ts';
import type { CommandRunner } from '../run-command.ts';
import type { SolutionImage } from '../config/solution-config.ts';
import { hashTree } from '../tree-hash.ts';

/** Options for {@link fetchSolutionImages}. */
export interface FetchImagesOptions {
  readonly solutionDir: string;
  /** Work directory (`<solution>/_build` by default). */
  readonly workDir: string;
  /** Shared blob store directory. */
  readonly blobDir: string;
  readonly skopeo: string;
  readonly buildah: string;
  /** Needed only when the list has remote images. */
  readonly sources?: Sources;
  readonly run: CommandRunner;
  readonly log?: (line: string) => void;
}

/** Where the layout of an image lives. */
export function imageLayoutDir(workDir: string, img: ImageEntry): string {
  return path.join(workDir, 'images', img.name, img.version);
}

/** Identity of what produces an image: changes when it must be fetched or built again. */
export async function imageKey(img: SolutionImage, solutionDir: string): Promise<string> {
  const parts: unknown[] = [img, 'solution-image@2'];
  if (img.build !== undefined)
    parts.push(await hashTree(path.join(solutionDir, img.build.context)));
  for (const [dest, src] of Object.entries(img.hostFiles ?? {}).sort()) {
    parts.push(dest, createHash('sha256').update(readHostFile(src)).digest('hex'));
  }
  return createHash('sha256').update(JSON.stringify(parts)).digest('hex');
}

/** A host file's bytes: a regular file only (never a FIFO or a device), bounded in size. */
function readHostFile(src: string): Buffer {
  return readRegularFile(src, {
    what: `host file ${src}`,
    maxBytes: MAX_HOST_FILE_BYTES,
    fix: 'point hostFiles at a regular file of this host (see docs/solution.md)',
  });
}

/**
 * Copies the build context (which must resolve inside the Solution) and its host files (the
 * caller checked the opt-in) into the work directory.
 */
async function stageContext(img: SolutionImage, o: FetchImagesOptions): Promise<string> {
  const label = `solution.yaml: image ${img.name}:${img.version}`;
  const context = requireInside(
    o.solutionDir,
    path.join(o.solutionDir, img.build?.context ?? ''),
    `${label}: build.context`,
    'make build.context a directory of the Solution (not a symlink leading out of it)',
  );
  const staged = path.join(o.workDir, 'contexts', `${img.name}-${img.version}`);
  await rm(staged, { recursive: true, force: true });
  await cp(context, staged, { recursive: true, verbatimSymlinks: true });
  for (const [dest, src] of Object.entries(img.hostFiles ?? {})) {
    const to = requireInside(
      staged,
      path.join(staged, dest),
      `${label}: hostFiles.${dest}`,
      'name a path inside the build context (relative, without "..")',
    );
    await mkdir(path.dirname(to), { recursive: true });
    await writeFile(to, readHostFile(src));
    // The mode of the host file, as copyFile kept it (umask-independent).
    await chmod(to, (await stat(src)).mode & 0o777);
  }
  return staged;
}

/** Builds with the images domain's buildLocalImage (buildah, --timestamp 0, shared blob store). */
async function buildLocal(img: SolutionImage, dest: string, o: FetchImagesOptions): Promise<void> {
  const build = img.build;
  if (build === undefined) throw new TaskError('internal-error', `${img.name} has no build`);
  const context = await stageContext(img, o);
  try {
    const file = await buildFileOf(context, build.file, context);
    if (file === undefined)
      throw new TaskError('invalid-input', `no Containerfile in ${build.context}`, {
        hint: 'run lint',
      });
    await buildLocalImage({
      name: img.name,
      version: img.version,
      context,
      file,
      args: build.args ?? {},
      bin: o.buildah,
      skopeo: o.skopeo,
      workDir: path.join(o.workDir, 'containers'),
      store: openBlobStore(o.blobDir),
      dest,
      run: async (argv, env) => {
        await o.run(argv, env !== undefined ? { env } : {});
      },
    });
  } finally {
    await rm(context, { recursive: true, force: true });
  }
}

async function pullRemote(img: ImageEntry, dest: string, o: FetchImagesOptions): Promise<void> {
  const src = img.source;
  if (src === undefined || o.sources === undefined) {
    throw new TaskError('internal-error', `${img.name}: remote image without source or Sources`);
  }
  const endpoint = await o.sources.registry(src.registry);
  const digest = await o.sources.imageDigest(img);
  if (digest === undefined) {
    throw new TaskError('invalid-input', `image ${img.name}:${img.version} has no pinned digest`, {
      hint: 'add digest: sha256:... to solution.yaml',
    });
  }
  const repo = [endpoint.pathPrefix, src.repository].filter((s) => s !== '').join('/');
  const argv = [
    o.skopeo,
    '--override-os',
    'linux',
    '--override-arch',
    'amd64',
    'copy',
    '-q',
    '--format',
    'v2s2',
    '--dest-compress',
  ];
  if (endpoint.insecure) argv.push('--src-tls-verify=false');
  if (endpoint.authFile !== undefined) argv.push('--src-authfile', endpoint.authFile);
  const tmp = path.join(
    o.workDir,
    'tmp',
    `${img.name}-${img.version}-${randomBytes(4).toString('hex')}`,
  );
  await mkdir(path.dirname(tmp), { recursive: true });
  try {
    argv.push(`docker://${endpoint.host}/${repo}@${digest}`, `dir:${tmp}`);
    await o.run(argv);
    await adoptDirLayout(tmp, openBlobStore(o.blobDir), dest);
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

/** Fetches one image unless its layout is present and its key unchanged. */
export async function fetchSolutionImage(img: SolutionImage, o: FetchImagesOptions): Promise<void> {
  const dest = imageLayoutDir(o.workDir, img);
  const keyFile = path.join(o.workDir, 'image-keys', `${img.name}@${img.version}`);
  const key = await imageKey(img, o.solutionDir);
  const previous = await readFile(keyFile, 'utf8').catch(() => '');
  const present = await readFile(path.join(dest, 'manifest.json')).then(
    () => true,
    () => false,
  );
  if (previous === key && present) {
    o.log?.(`image ${img.name}:${img.version} up to date`);
    return;
  }
  await rm(keyFile, { force: true });
  o.log?.(`image ${img.name}:${img.version}: ${img.build !== undefined ? 'building' : 'pulling'}`);
  if (img.build !== undefined) await buildLocal(img, dest, o);
  else await pullRemote(img, dest, o);
  await mkdir(path.dirname(keyFile), { recursive: true });
  await writeFile(keyFile, key);
}

/** Fetches every image, one at a time (buildah's vfs store is not safe for parallel use). */
export async function fetchSolutionImages(
  images: readonly SolutionImage[],
  o: FetchImagesOptions,
): Promise<void> {
  for (const img of images) await fetchSolutionImage(img, o);
}
