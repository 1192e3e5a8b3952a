/**
 * `hostFiles`: files of the build host that `build` copies into an image's build context, and
 * so onto the ISO. The one way a Solution pulls in a file from outside its tree, so it is an
 * explicit opt-in of whoever builds: `lint` reports every host file (a `host-file` warning
 * naming it), and `build` refuses them (`host-file-not-allowed`) unless given
 * `--allow-host-files` (`allowHostFiles: true`). A host file must be an absolute path to a
 * readable regular file of at most {@link MAX_HOST_FILE_BYTES}.
 */
import { constants } from 'node:fs';
import { access } from 'node:fs/promises';
import path from 'node:path';
import { TaskError } from '../../../engine/task.ts';
import { resolveReal } from '../../../lib/fs/fence.ts';
import { checkRegularFile } from '../../../lib/fs/read-bounded.ts';
import { error, warning, type Problem } from '../lint/problems.ts';
import { CONFIG_FILE, type SolutionConfig } from './solution-config.ts';

/** Largest host file accepted (bytes): a static binary, not a disk image. */
export const MAX_HOST_FILE_BYTES = 256 * 1024 * 1024;

/** One `hostFiles` entry of an image. */
export interface HostFile {
  /** `image <name>:<version>: hostFiles.<dest>`, for messages. */
  readonly where: string;
  /** Path inside the build context. */
  readonly dest: string;
  /** Absolute path on the build host, as written. */
  readonly src: string;
}

/** Every host file of the config, in order. */
export function hostFilesOf(config: SolutionConfig): HostFile[] {
  return config.images.flatMap((img) =>
    Object.entries(img.hostFiles ?? {}).map(([dest, src]) => ({
      where: `image ${img.name}:${img.version}: hostFiles.${dest}`,
      dest,
      src,
    })),
  );
}

/** `src`, with where it resolves to when that differs (a symlink). */
function shown(src: string): string {
  const real = resolveReal(src);
  return real === path.resolve(src) ? src : `${src} (${real})`;
}

/**
 * Why the host file `src` cannot be copied, or undefined: not absolute, missing, not a regular
 * file (a FIFO or a device would block or never end), too large, or unreadable.
 */
export async function hostFileProblem(src: string): Promise<string | undefined> {
  if (!path.isAbsolute(src)) return `${src} is not an absolute path`;
  try {
    checkRegularFile(src, { what: src, maxBytes: MAX_HOST_FILE_BYTES });
  } catch (err) {
    if (err instanceof TaskError) {
      const detail = err.message.startsWith(src)
        ? err.message.slice(src.length).replace(/^:?\s*/, '')
        : err.message;
      return `${src} is not a readable file of this host (${detail})`;
    }
    throw err;
  }
  const readable = await access(src, constants.R_OK).then(
    () => true,
    () => false,
  );
  return readable ? undefined : `${src} is not a readable file of this host`;
}

/**
 * Lint findings of the host files: an `image-context` error for a file that cannot be copied,
 * and a `host-file` warning naming every other one (lint never calls a Solution with host
 * files clean).
 */
export async function checkHostFiles(config: SolutionConfig): Promise<Problem[]> {
  const out: Problem[] = [];
  for (const h of hostFilesOf(config)) {
    const problem = await hostFileProblem(h.src);
    if (problem !== undefined) {
      out.push(
        error(
          'image-context',
          CONFIG_FILE,
          `${h.where}: ${problem}`,
          'install the package providing it (e.g. busybox-static) or fix the absolute path',
        ),
      );
      continue;
    }
    out.push(
      warning(
        'host-file',
        CONFIG_FILE,
        `${h.where}: copies the host file ${shown(h.src)} into the image, and so onto the ISO`,
        'check that this file may be shipped: build copies it only with --allow-host-files; or copy it into the build context instead',
      ),
    );
  }
  return out;
}

/** The `host-file-not-allowed` errors of a build without the opt-in (none when there are no host files). */
export function hostFilesNotAllowed(config: SolutionConfig): Problem[] {
  return hostFilesOf(config).map((h) =>
    error(
      'host-file-not-allowed',
      CONFIG_FILE,
      `${h.where}: would copy the host file ${h.src} into the image and onto the ISO, without --allow-host-files`,
      'check the host files `metalk8s-solution lint` lists, then build with --allow-host-files; or copy them into the build context',
    ),
  );
}
