/**
 * Image names and tags: the distribution reference grammar (distribution/reference/regexp.go)
 * and the length limits of everything that carries them — the registry (repository ≤ 255
 * characters, tag ≤ 128), the ISO (a path component `images/<name>/<tag>/` must fit the Joliet
 * tree of `-joliet -joliet-long`: 103 characters) and the filesystem (NAME_MAX, 255 bytes).
 * One place for the images list, Solutions, and the generators that write names into nginx
 * configs or registry paths.
 */

/** One path component of a repository name (lowercase, separators `.`, `_`, `__`, `-+`). */
const NAME_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
/** A tag: word characters, `.` and `-`, not starting with `.` or `-`, 1 to 128 characters. */
const TAG = /^[\w][\w.-]{0,127}$/;
const DIGEST = /^sha256:[a-f0-9]{64}$/;
/** A registry host with an optional port (`quay.io`, `127.0.0.1:5000`). */
const REGISTRY_HOST =
  /^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)(?:\.[a-zA-Z0-9-]+)*(?::[0-9]+)?$/;

/** Longest repository name (all components and slashes) a registry accepts, in characters. */
export const MAX_REPOSITORY_NAME_CHARS = 255;
/** Longest tag the distribution grammar accepts, in characters. */
export const MAX_TAG_CHARS = 128;
/**
 * Longest path component the ISO carries whole: `-joliet-long` Joliet names are cut at 103
 * characters by genisoimage (104 by xorriso), so 103 fits both writers. Rock Ridge keeps 255.
 */
export const MAX_ISO_COMPONENT_CHARS = 103;
/** NAME_MAX of Linux filesystems: the longest file name, in bytes. */
export const MAX_FILE_NAME_BYTES = 255;

/** True for one component of a repository name (`calico-node`), any length. */
export function isNameComponent(value: string): boolean {
  return NAME_COMPONENT.test(value);
}

/** True for a repository path (`a/b-c/d`) valid in the distribution grammar, ≤ 255 characters. */
export function isRepositoryName(value: string): boolean {
  return (
    value.length <= MAX_REPOSITORY_NAME_CHARS &&
    value.split('/').every((c) => NAME_COMPONENT.test(c))
  );
}

/** True for a tag valid in the distribution grammar (≤ 128 characters). */
export function isTag(value: string): boolean {
  return TAG.test(value);
}

/** True for `sha256:` + 64 lowercase hex. */
export function isDigest(value: string): boolean {
  return DIGEST.test(value);
}

/** True for a registry host with an optional port. */
export function isRegistryHost(value: string): boolean {
  return REGISTRY_HOST.test(value);
}

/** `value`, cut to 40 characters with its length when longer (for messages). */
export function abbreviate(value: string): string {
  return value.length <= 40 ? value : `${value.slice(0, 40)}… (${value.length} characters)`;
}

/** What is wrong with a name or tag, and how to fix it. */
export interface NameProblem {
  readonly message: string;
  readonly fix: string;
}

/**
 * Why `component` cannot be a directory or file name on the ISO and on disk, or undefined
 * when it can: more than {@link MAX_ISO_COMPONENT_CHARS} characters or
 * {@link MAX_FILE_NAME_BYTES} bytes. `what` names it in the message (`name "x"`).
 */
export function pathComponentProblem(component: string, what: string): NameProblem | undefined {
  const bytes = Buffer.byteLength(component, 'utf8');
  const fix = `shorten it to at most ${MAX_ISO_COMPONENT_CHARS} characters`;
  if (bytes > MAX_FILE_NAME_BYTES) {
    return {
      message: `${what} is ${bytes} bytes, more than the ${MAX_FILE_NAME_BYTES} a file name holds (NAME_MAX)`,
      fix,
    };
  }
  if (component.length > MAX_ISO_COMPONENT_CHARS) {
    return {
      message:
        `${what} is ${component.length} characters, more than the ${MAX_ISO_COMPONENT_CHARS} ` +
        'a path component of the ISO holds (Joliet names of -joliet-long)',
      fix,
    };
  }
  return undefined;
}

/**
 * Why `name` cannot be the image name of `images/<name>/<tag>/` on the ISO (one component of
 * the distribution grammar that fits a path component), or undefined. The registry repository
 * `<prefix>/<name>` then stays far below {@link MAX_REPOSITORY_NAME_CHARS}.
 */
export function imageNameProblem(name: string): NameProblem | undefined {
  if (!NAME_COMPONENT.test(name)) {
    return {
      message: `name "${abbreviate(name)}" is not a valid image name`,
      fix: 'use one lowercase component like "calico-node" (letters, digits and ., _, __, - between them)',
    };
  }
  return pathComponentProblem(name, `name "${abbreviate(name)}"`);
}

/** Why `tag` cannot be an image tag and the `<tag>` directory on the ISO, or undefined. */
export function tagProblem(tag: string): NameProblem | undefined {
  if (tag.length > MAX_TAG_CHARS && /^[\w][\w.-]*$/.test(tag)) {
    return {
      message: `version "${abbreviate(tag)}" is ${tag.length} characters, more than the ${MAX_TAG_CHARS} a registry tag holds`,
      fix: `shorten it to at most ${MAX_ISO_COMPONENT_CHARS} characters`,
    };
  }
  if (!TAG.test(tag)) {
    return {
      message: `version "${abbreviate(tag)}" is not a valid tag`,
      fix: 'use [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}',
    };
  }
  return pathComponentProblem(tag, `version "${abbreviate(tag)}"`);
}
