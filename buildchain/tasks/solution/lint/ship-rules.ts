/**
 * Which files of a Solution tree go onto the ISO, and where. Pure: shared by `lint` (to report
 * files that would be dropped) and `build` (to copy exactly those files).
 *
 * Shipped: `operator/deploy/**.yaml` and `ui/**.yaml`, at the same paths on the ISO. Everything
 * else under `operator/` and `ui/` would be dropped, which `lint` reports as an error.
 */
import type { TreeEntry } from '../config/tree-scan.ts';

/** Top-level entries that are sources of the Solution but not shipped as files. */
const KNOWN_TOP_LEVEL =
  /^(solution\.yaml|README(\.\w+)?|LICENSE(\.\w+)?|CHANGELOG(\.\w+)?|images|operator|ui|\.gitignore|\.gitattributes|\.dockerignore|\.editorconfig)$/;

/** How one entry is handled by `build`. */
export type EntryFate =
  | { readonly kind: 'ship' }
  | { readonly kind: 'container' }
  | { readonly kind: 'source' }
  | { readonly kind: 'drop'; readonly why: string; readonly fix: string }
  | { readonly kind: 'unused'; readonly why: string; readonly fix: string };

function isShippedArea(rel: string): boolean {
  return rel.startsWith('operator/') || rel.startsWith('ui/');
}

/** True for a file the build copies (regular file, or a symlink to a file inside the tree). */
export function isShippablePath(rel: string): boolean {
  const base = rel.slice(rel.lastIndexOf('/') + 1);
  if (base.startsWith('.')) return false;
  if (!base.endsWith('.yaml')) return false;
  return rel.startsWith('operator/deploy/') || rel.startsWith('ui/');
}

/**
 * The fate of one entry. `contexts` are the build contexts of the image list (relative,
 * normalised): files under them are build inputs.
 */
export function entryFate(entry: TreeEntry, contexts: readonly string[]): EntryFate {
  const rel = entry.rel;
  const top = rel.split('/')[0] ?? rel;
  const isDirLike = entry.type === 'dir';
  if (!isShippedArea(rel)) {
    if (rel === top) {
      if (KNOWN_TOP_LEVEL.test(top)) return isDirLike ? { kind: 'container' } : { kind: 'source' };
      return {
        kind: 'unused',
        why: 'not part of the Solution layout: it is not shipped',
        fix: 'remove it, or move it under operator/deploy/ or ui/ if it must be on the ISO',
      };
    }
    if (top === 'images') {
      const inContext = contexts.some(
        (c) => rel === c || rel.startsWith(`${c}/`) || c.startsWith(`${rel}/`),
      );
      if (inContext) return isDirLike ? { kind: 'container' } : { kind: 'source' };
      return {
        kind: 'unused',
        why: 'not in the build context of any image of solution.yaml',
        fix: 'reference it as an image build context, or remove it',
      };
    }
    return { kind: 'source' };
  }
  if (isDirLike) return { kind: 'container' };
  if (entry.type === 'symlink' && entry.targetType === 'dir') {
    return {
      kind: 'drop',
      why: 'symlinked directories are not followed by the build',
      fix: 'replace the symlink by a real directory',
    };
  }
  const base = rel.slice(rel.lastIndexOf('/') + 1);
  if (base.startsWith('.')) {
    return {
      kind: 'unused',
      why: 'hidden files are not shipped',
      fix: 'remove it if it is not needed',
    };
  }
  if (isShippablePath(rel)) return { kind: 'ship' };
  if (rel.startsWith('operator/') && !rel.startsWith('operator/deploy/')) {
    return {
      kind: 'drop',
      why: 'only operator/deploy/ is shipped',
      fix: 'move it under operator/deploy/ or delete it',
    };
  }
  if (base.endsWith('.yml')) {
    return {
      kind: 'drop',
      why: 'only .yaml files are shipped (MetalK8s reads *.yaml)',
      fix: `rename it to ${base.slice(0, -4)}.yaml`,
    };
  }
  return {
    kind: 'drop',
    why: 'only .yaml files are shipped under operator/deploy/ and ui/',
    fix: 'remove it, or convert it to a .yaml manifest',
  };
}

/** The files `build` copies, relative to the Solution root (= their path on the ISO). */
export function shippedFiles(entries: readonly TreeEntry[]): string[] {
  return entries
    .filter(
      (e) =>
        (e.type === 'file' ||
          (e.type === 'symlink' && e.targetType === 'file' && e.escapes === false)) &&
        isShippablePath(e.rel),
    )
    .map((e) => e.rel);
}
