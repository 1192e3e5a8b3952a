/**
 * Cheap completeness check of a skopeo `dir:` layout, for the image tasks' up-to-date state:
 * every file the manifest names (blobs, and the per-platform manifests of a list) exists with
 * the size the manifest gives. Reads the manifests only and stats the blobs: a blob deleted or
 * truncated by hand is noticed without hashing the layers on every no-op build (their content
 * is checked when pulled, and by `verify` on the ISO).
 */
import { statSync } from 'node:fs';
import path from 'node:path';
import { TaskError } from '../../engine/task.ts';
import { readRegularFile } from '../../lib/fs/read-bounded.ts';
import { digestHex, MAX_MANIFEST_BYTES, parseManifest, type Descriptor } from '../../lib/oci/manifest.ts';

/** A blob's size, undefined when it is not a regular file (a stat: synchronous, no promise per blob on a no-op). */
function sizeOf(file: string): number | undefined {
  let st;
  try {
    st = statSync(file, { throwIfNoEntry: false });
  } catch {
    return undefined; // unreadable path (EACCES, ENOTDIR...): reported as missing
  }
  return st?.isFile() === true ? st.size : undefined;
}

function readManifest(file: string, what: string): { blobs: readonly Descriptor[]; children: readonly Descriptor[] } | string {
  let bytes: Buffer;
  try {
    // Never a FIFO or a device (which would block or never end), at most a manifest's size.
    bytes = readRegularFile(file, { maxBytes: MAX_MANIFEST_BYTES, what });
  } catch (err) {
    if (err instanceof TaskError && err.reason === 'invalid-input') return err.message;
    return `${what} is missing`;
  }
  try {
    const parsed = parseManifest(bytes);
    return parsed.kind === 'image' ? { blobs: parsed.blobs, children: [] } : { blobs: [], children: parsed.manifests };
  } catch (err) {
    return `${what} is unreadable (${err instanceof Error ? err.message : String(err)})`;
  }
}

function checkSize(d: Descriptor, size: number | undefined, file: string): string | undefined {
  if (size === undefined) return `${file} (${d.digest}) is missing`;
  if (size !== d.size) return `${file} has ${String(size)} bytes, the manifest says ${String(d.size)}`;
  return undefined;
}

/**
 * The first problem of the layout in `dir` (relative file names in the message), or
 * undefined when every file the manifest names is present with its size. A list's children
 * are `<hex>.manifest.json`; children not kept in the layout (a single platform selected)
 * do not occur: the layout's manifest.json is then the platform's image manifest.
 */
export function layoutProblem(dir: string): string | undefined {
  const top = readManifest(path.join(dir, 'manifest.json'), 'manifest.json');
  if (typeof top === 'string') return top;
  if (sizeOf(path.join(dir, 'version')) === undefined) return 'version is missing';
  const blobs = [...top.blobs];
  for (const child of top.children) {
    const name = `${digestHex(child.digest)}.manifest.json`;
    const problem = checkSize(child, sizeOf(path.join(dir, name)), name);
    if (problem !== undefined) return problem;
    const parsed = readManifest(path.join(dir, name), name);
    if (typeof parsed === 'string') return parsed;
    blobs.push(...parsed.blobs);
  }
  for (const b of blobs) {
    const problem = checkSize(b, sizeOf(path.join(dir, digestHex(b.digest))), digestHex(b.digest));
    if (problem !== undefined) return problem;
  }
  return undefined;
}
