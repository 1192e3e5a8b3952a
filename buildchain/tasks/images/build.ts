/**
 * Local image builds: build with buildah/podman/docker, export to an OCI layout, convert to a
 * v2s2 `dir:` layout with skopeo, move the blobs into the shared store and materialise the
 * layout from it with hard links (so locally built layers dedup with pulled ones).
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, readlink, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { execDirect, type Exec } from '../../engine/exec/run-command.ts';
import { TaskError } from '../../engine/task.ts';
import type { BlobStore } from '../../media/images/blob-store.ts';
import { buildArgv, exportArgv, standInContext, toDirArgv, type ImageBuilder } from './builder-args.ts';
import { materialiseLayout } from '../../media/images/layout.ts';
import { parseManifest } from '../../lib/oci/manifest.ts';
import { sha256File, sha256Hex } from '../../lib/fs/hash.ts';
import { walkTree } from '../../lib/fs/walk.ts';

/** Options for {@link buildLocalImage}. */
export interface BuildLocalImageOptions {
  readonly name: string;
  readonly version: string;
  /** Absolute context directory. */
  readonly context: string;
  /** Absolute Containerfile path. */
  readonly file: string;
  readonly args?: Readonly<Record<string, string>>;
  readonly builder?: ImageBuilder;
  /** Builder binary (default: the builder's name). */
  readonly bin?: string;
  readonly skopeo?: string;
  /** Private work directory (buildah/podman storage, temp layouts), e.g. `<buildRoot>/containers`. */
  readonly workDir: string;
  readonly store: BlobStore;
  /** Layout directory to (re)create. */
  readonly dest: string;
  /** The command runner (default {@link execDirect}); a task passes its context's. */
  readonly run?: Exec;
  /** Extra environment for the builder (e.g. CONTAINERS_REGISTRIES_CONF). */
  readonly env?: Readonly<Record<string, string>>;
}

/** Builds and materialises one local image; returns the layout's manifest digest. */
export async function buildLocalImage(o: BuildLocalImageOptions): Promise<void> {
  const run = o.run ?? execDirect;
  const builder = o.builder ?? 'buildah';
  const skopeo = o.skopeo ?? 'skopeo';
  const spec = {
    builder,
    bin: o.bin ?? builder,
    storageRoot: path.join(o.workDir, 'storage'),
    runRoot: path.join(o.workDir, 'run'),
    tag: `localhost/metalk8s-build/${o.name}:${o.version}`,
  };
  const scratch = path.join(o.workDir, 'tmp', `${o.name}-${o.version}-${randomBytes(4).toString('hex')}`);
  await mkdir(scratch, { recursive: true });
  try {
    await run(buildArgv({ ...spec, file: o.file, context: o.context, args: o.args ?? {} }), o.env === undefined ? {} : { env: o.env });
    const oci = path.join(scratch, 'oci');
    const dir = path.join(scratch, 'dir');
    await run(exportArgv(spec, oci, skopeo));
    await run(toDirArgv(skopeo, oci, dir));
    await adoptDirLayout(dir, o.store, o.dest);
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

/**
 * Moves the blobs of a skopeo `dir:` layout into the store and materialises `dest` from it.
 * Used for local builds and by Solutions for layouts made by other means.
 */
export async function adoptDirLayout(dir: string, store: BlobStore, dest: string): Promise<void> {
  const manifest = await readFile(path.join(dir, 'manifest.json'));
  const parsed = parseManifest(manifest);
  if (parsed.kind !== 'image') throw new TaskError('invalid-input', `${dir}: expected an image manifest, found a list`);
  const files = new Set(await readdir(dir));
  const blobs: string[] = [];
  for (const d of parsed.blobs) {
    const hex = d.digest.slice('sha256:'.length);
    if (!files.has(hex)) throw new TaskError('target-not-produced', `${dir}: blob ${d.digest} missing from the layout`);
    blobs.push(await store.adopt(path.join(dir, hex), d.digest));
  }
  await materialiseLayout({ dest, manifest, blobs });
}

/**
 * Writes the stand-in context for `name:version` into `dir` (replacing it); returns its
 * Containerfile. `inputs`: the real build's {@link buildInputsDigest}, recorded in the image.
 */
export async function writeStandInContext(dir: string, name: string, version: string, inputs?: string): Promise<string> {
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  for (const [file, text] of Object.entries(standInContext(name, version, inputs))) await writeFile(path.join(dir, file), text);
  return path.join(dir, 'Containerfile');
}

/**
 * Hex sha256 of what a local image is built from: every entry of the context (relative path,
 * kind, exec bit and content; a symlink as its target text), the Containerfile (its content and
 * its path relative to the context: it may live outside) and the build args. A stand-in build
 * records it, so that any change to the real inputs changes the stand-in image.
 */
export async function buildInputsDigest(context: string, file: string | undefined, args: Readonly<Record<string, string>>): Promise<string> {
  const lines: string[] = [];
  for (const e of await walkTree(context, { missingOk: true })) {
    if (e.kind === 'file') {
      const x = ((await stat(e.path)).mode & 0o111) !== 0 ? 'x' : '-';
      lines.push(`f${x} ${JSON.stringify(e.rel)} ${await sha256File(e.path)}`);
    } else if (e.kind === 'symlink') lines.push(`l ${JSON.stringify(e.rel)} ${JSON.stringify(await readlink(e.path))}`);
    else lines.push(`${e.kind === 'dir' ? 'd' : 'o'} ${JSON.stringify(e.rel)}`);
  }
  lines.push(file === undefined ? 'file -' : `file ${JSON.stringify(path.relative(context, file))} ${await sha256File(file)}`);
  for (const k of Object.keys(args).sort()) lines.push(`arg ${JSON.stringify(k)}=${JSON.stringify(args[k] ?? '')}`);
  return sha256Hex(lines.join('\n'));
}
