/**
 * Gets the images of a Solution into `<workDir>/images/<name>/<version>/` (skopeo `dir:` layout,
 * Docker v2s2, gzip layers): remote images are pulled by pinned digest through the Sources of
 * the build, local images are built with buildah (FROM scratch works offline). Every blob goes
 * through the shared blob store, and layouts are hard links into it (dedup by construction).
 */
import { randomBytes } from 'node:crypto';
import { readdirSync, statSync } from 'node:fs';
import { chmod, cp, mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { BuildConfig } from '../../../config/config.ts';
import type { ImageEntry } from '../../../config/content-types.ts';
import { TaskError } from '../../../engine/task.ts';
import { buildFileOf } from '../../../config/images.ts';
import { requireInside } from '../../../lib/fs/fence.ts';
import { httpDefaults } from '../../../lib/http/get.ts';
import { proxyEnvironment } from '../../../lib/http/proxy.ts';
import { registryRepository } from '../../../config/mirrors.ts';
import { sha256Hex } from '../../../lib/fs/hash.ts';
import { readRegularFile } from '../../../lib/fs/read-bounded.ts';
import { openBlobStore } from '../../../media/images/blob-store.ts';
import { adoptDirLayout, buildLocalImage, builderEnv, checkAuthFile } from '../../images/index.ts';
import type { Sources } from '../../../sources/sources.ts';
import { MAX_HOST_FILE_BYTES } from '../config/host-files.ts';
import { adoptIndexLayout } from './platforms.ts';
import type { Exec } from '../../../engine/exec/run-command.ts';
import type { SolutionImage } from '../config/solution-config.ts';

/** Options for {@link fetchSolutionImage}. */
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
  /** Mirrors, insecure registries, auth file and proxies for local builds (builderEnv). */
  readonly builderConfig?: Pick<BuildConfig, 'settings' | 'root'>;
  readonly run: Exec;
  readonly log?: (line: string) => void;
}

/** Where the layout of an image lives. */
export function imageLayoutDir(workDir: string, img: ImageEntry): string {
  return path.join(workDir, 'images', img.name, img.version);
}

/** What an image task reads besides its solution.yaml entry (see {@link imageInputs}). */
export interface ImageInputs {
  /** Every regular file of the build context (absolute paths, sorted): the task's file deps. */
  readonly files: readonly string[];
  /** Context path -> permission bits (a mode change rebuilds the image). */
  readonly modes: Readonly<Record<string, number>>;
  /** hostFiles destination -> sha256 of the host file (read bounded, regular files only). */
  readonly hostFiles: Readonly<Record<string, string>>;
}

/** The inputs of an image (empty for a remote image: its pinned digest is in the entry). */
export function imageInputs(img: SolutionImage, solutionDir: string): ImageInputs {
  const files: string[] = [];
  const modes: Record<string, number> = {};
  if (img.build !== undefined) {
    const context = path.join(solutionDir, img.build.context);
    for (const rel of contextFiles(context)) {
      const abs = path.join(context, rel);
      files.push(abs);
      modes[rel] = statSync(abs).mode & 0o777;
    }
  }
  const hostFiles: Record<string, string> = {};
  for (const [dest, src] of Object.entries(img.hostFiles ?? {}).sort()) {
    hostFiles[dest] = sha256Hex(readHostFile(src));
  }
  return { files, modes, hostFiles };
}

/** Regular files under `dir` (symlinks followed when they lead to a file), relative, sorted. */
function contextFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (rel: string): void => {
    for (const name of readdirSync(path.join(dir, rel)).sort()) {
      const r = rel === '' ? name : `${rel}/${name}`;
      const st = statSync(path.join(dir, r), { throwIfNoEntry: false });
      if (st?.isDirectory() === true) walk(r);
      else if (st?.isFile() === true) out.push(r);
    }
  };
  walk('');
  return out;
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
  const containersDir = path.join(o.workDir, 'containers');
  try {
    // The platform's image builds get the same (one place: the images domain's builderEnv).
    const env =
      o.builderConfig === undefined
        ? undefined
        : await builderEnv(o.builderConfig, 'buildah', containersDir, (line) => o.log?.(line));
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
      workDir: containersDir,
      store: openBlobStore(o.blobDir),
      dest,
      run: o.run,
      ...(env === undefined ? {} : { env }),
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
  // As containers/image maps a reference onto a mirror (and as the platform's registry client
  // does): the mirror serves Docker Hub's single names under `library/`. The embedded mirror
  // (no `upstream`) seeds the names as listed.
  const named =
    endpoint.upstream === undefined
      ? src.repository
      : registryRepository(endpoint.upstream, src.repository);
  const repo = [endpoint.pathPrefix, named].filter((s) => s !== '').join('/');
  // skopeo sees only its environment: the proxies of .env too (as dnf and the builders get them).
  const proxyEnv = proxyEnvironment(httpDefaults().proxies);
  const run = (argv: readonly string[]): Promise<unknown> =>
    Object.keys(proxyEnv).length === 0 ? o.run(argv) : o.run(argv, { env: proxyEnv });
  // An unreadable REGISTRY_AUTH_FILE fails naming it, as for the platform's pulls.
  if (endpoint.authFile !== undefined) await checkAuthFile(endpoint.authFile);
  const keep = (img as SolutionImage).keepPlatforms;
  const srcFlags = [
    ...(endpoint.insecure ? ['--src-tls-verify=false'] : []),
    ...(endpoint.authFile !== undefined ? ['--src-authfile', endpoint.authFile] : []),
  ];
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
    ...srcFlags,
  ];
  const tmp = path.join(
    o.workDir,
    'tmp',
    `${img.name}-${img.version}-${randomBytes(4).toString('hex')}`,
  );
  await mkdir(path.dirname(tmp), { recursive: true });
  const source = `docker://${endpoint.host}/${repo}`;
  try {
    if (keep === undefined) {
      // linux/amd64 alone, as one v2s2 image.
      argv.push(`${source}@${digest}`, `dir:${tmp}`);
      await run(argv);
      await adoptDirLayout(tmp, openBlobStore(o.blobDir), dest);
    } else {
      // The pinned index alone (skopeo checks its digest), then each kept instance.
      await mkdir(tmp, { recursive: true });
      const indexDir = path.join(tmp, 'index');
      const copy = [o.skopeo, 'copy', '-q', ...srcFlags];
      await run([...copy, '--multi-arch', 'index-only', `${source}@${digest}`, `dir:${indexDir}`]);
      const { platforms } = await adoptIndexLayout({
        index: await readFile(path.join(indexDir, 'manifest.json')),
        digest,
        keep,
        copyInstance: async (child, dir) => {
          await run([
            ...copy,
            '--format',
            'v2s2',
            '--dest-compress',
            `${source}@${child}`,
            `dir:${dir}`,
          ]);
        },
        scratch: tmp,
        store: openBlobStore(o.blobDir),
        dest,
        what: `image ${img.name}:${img.version}`,
      });
      o.log?.(`image ${img.name}:${img.version}: kept ${platforms.join(', ')}`);
    }
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

/** Builds or pulls one image into its layout directory (the engine decides when). */
export async function fetchSolutionImage(img: SolutionImage, o: FetchImagesOptions): Promise<void> {
  const dest = imageLayoutDir(o.workDir, img);
  o.log?.(`image ${img.name}:${img.version}: ${img.build !== undefined ? 'building' : 'pulling'}`);
  if (img.build !== undefined) await buildLocal(img, dest, o);
  else await pullRemote(img, dest, o);
}
