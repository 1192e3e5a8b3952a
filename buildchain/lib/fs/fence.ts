/**
 * Paths that must stay inside a directory (the build directory, the repository, a Solution
 * tree): resolved with symlinks followed before they are compared, so that `..`, a symlinked
 * parent or a symlinked root cannot lead out. Removals never follow a symlink out of the fence.
 */
import { lstatSync, realpathSync, rmSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { TaskError } from '../errors.ts';

/** True when `p` is strictly inside `dir` (both absolute, compared as text). */
export function isInside(dir: string, p: string): boolean {
  const rel = path.relative(dir, p);
  return rel !== '' && !rel.startsWith(`..${path.sep}`) && rel !== '..' && !path.isAbsolute(rel);
}

/** True when `p` is `dir` or inside it (compared as text). */
export function isAtOrInside(dir: string, p: string): boolean {
  return path.resolve(p) === path.resolve(dir) || isInside(dir, p);
}

/**
 * `p` made absolute with every symlink of its existing part followed; the components that do
 * not exist yet are appended as they are (so a path about to be created resolves too).
 */
export function resolveReal(p: string): string {
  const abs = path.resolve(p);
  const missing: string[] = [];
  let head = abs;
  for (;;) {
    try {
      const real = realpathSync.native(head);
      return missing.length === 0 ? real : path.join(real, ...missing.reverse());
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT' && code !== 'ENOTDIR') throw err;
      const parent = path.dirname(head);
      if (parent === head) return abs;
      missing.push(path.basename(head));
      head = parent;
    }
  }
}

/**
 * Where `p` really is, without following its last component: the real path of its parent
 * joined with its own name. That is what `rm` acts on (a symlink is removed, not its target).
 */
export function resolveParentReal(p: string): string {
  const abs = path.resolve(p);
  return path.join(resolveReal(path.dirname(abs)), path.basename(abs));
}

/**
 * Throws `invalid-input` unless `p` (symlinks followed, the last one too) is `root` or inside
 * it. `what` names the input in the message (`salt/MANIFEST entry 'x'`), `fix` says what to do.
 * Returns the resolved path.
 */
export function requireInside(root: string, p: string, what: string, fix: string): string {
  const realRoot = resolveReal(root);
  const real = resolveReal(p);
  if (!isAtOrInside(realRoot, real)) {
    throw new TaskError('invalid-input', `${what} resolves to ${real}, outside ${realRoot}`, {
      hint: fix,
    });
  }
  return real;
}

/** A path that was not removed because it is (or leads) outside the fence. */
export class FenceError extends TaskError {
  constructor(fence: string, target: string) {
    super('invalid-input', `refusing to remove ${target}: it is not inside ${fence}`, {
      hint: 'only paths inside the build directory (BUILD_ROOT) are ever removed',
    });
    this.name = 'FenceError';
  }
}

function checkRemovable(fence: string, target: string): string {
  const realFence = resolveReal(fence);
  const real = resolveParentReal(target);
  if (!isInside(realFence, real)) throw new FenceError(realFence, target);
  return real;
}

/**
 * Removes `target` (recursively; a symlink is unlinked, never followed) when it is strictly
 * inside `fence` once resolved; throws {@link FenceError} otherwise. Missing targets are fine.
 */
export async function removeInside(fence: string, target: string): Promise<void> {
  await rm(checkRemovable(fence, target), { recursive: true, force: true });
}

/**
 * Removes every target (see {@link removeInside}), after checking them all: when one is not
 * inside the fence, nothing is removed and {@link FenceError} names it.
 */
export async function removeAllInside(fence: string, targets: readonly string[]): Promise<void> {
  for (const t of targets) checkRemovable(fence, t);
  for (const t of targets) await removeInside(fence, t);
}

/** Synchronous {@link removeInside}. */
export function removeInsideSync(fence: string, target: string): void {
  rmSync(checkRemovable(fence, target), { recursive: true, force: true });
}

/** True when `p` exists (without following a final symlink). */
export function existsNoFollow(p: string): boolean {
  try {
    lstatSync(p);
    return true;
  } catch {
    return false;
  }
}
