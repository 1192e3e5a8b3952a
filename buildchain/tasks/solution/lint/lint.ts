/** `lint`: everything `build` would reject, found before any pull or build. */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { withAutoImages } from '../config/auto-images.ts';
import { checkHostFiles } from '../config/host-files.ts';
import { checkImages, checkProduct, isContainedPath } from './lint-config-rules.ts';
import { checkTree } from './lint-tree-rules.ts';
import { checkManifests } from './lint-yaml-rules.ts';
import { imageRefsOfTexts, type ImageRef } from './image-refs.ts';
import { checkImageRefs } from './lint-image-rules.ts';
import { error, type Problem } from './problems.ts';
import { shippedFiles } from './ship-rules.ts';
import {
  CONFIG_FILE,
  parseSolutionConfig,
  type SolutionConfig,
} from '../config/solution-config.ts';
import { scanTree, type TreeEntry } from '../config/tree-scan.ts';

/** Options for {@link lintSolution}. */
export interface LintOptions {
  /** Accept remote images without a pinned digest. */
  readonly allowUnpinned?: boolean;
  /** Complete the image list from the manifests, as `images: auto` does (auto-images.ts). */
  readonly imagesAuto?: boolean;
}

/** What lint found, plus what it read (reused by `build`). */
export interface LintResult {
  readonly problems: readonly Problem[];
  /** Undefined when the config is missing or unparseable. */
  readonly config: SolutionConfig | undefined;
  readonly entries: readonly TreeEntry[];
  /** Files `build` copies onto the ISO (relative paths). */
  readonly shipped: readonly string[];
  /** The image references of the shipped manifests (see image-refs.ts). */
  readonly imageRefs: readonly ImageRef[];
}

/** Normalised build contexts of the image list (only the contained ones). */
export function buildContexts(config: SolutionConfig | undefined): string[] {
  return (config?.images ?? [])
    .map((i) => i.build?.context)
    .filter((c): c is string => c !== undefined && isContainedPath(c))
    .map((c) => path.posix.normalize(c).replace(/\/$/, ''));
}

/** Lints the Solution in `dir`. Never throws for problems of the Solution itself. */
export async function lintSolution(dir: string, opts: LintOptions = {}): Promise<LintResult> {
  const root = path.resolve(dir);
  const problems: Problem[] = [];
  let text: string | undefined;
  try {
    text = await readFile(path.join(root, CONFIG_FILE), 'utf8');
  } catch {
    problems.push(
      error(
        'config-missing',
        CONFIG_FILE,
        `no ${CONFIG_FILE} in ${root}`,
        'run `metalk8s-solution init DIR --name N --version V` or create it',
      ),
    );
  }
  let config: SolutionConfig | undefined;
  if (text !== undefined) {
    const parsed = parseSolutionConfig(text);
    problems.push(...parsed.problems);
    config = parsed.config;
  }
  const entries = await scanTree(root);
  const shipped = shippedFiles(entries);
  const texts = new Map<string, string>();
  for (const rel of shipped) {
    try {
      texts.set(rel, await readFile(path.join(root, rel), 'utf8'));
    } catch {
      // already reported by checkTree as unreadable
    }
  }
  const imageRefs = imageRefsOfTexts(texts, config?.version);
  if (config !== undefined && (config.imagesAuto === true || opts.imagesAuto === true)) {
    const files = entries.filter(
      (e) => e.type === 'file' || (e.type === 'symlink' && e.targetType === 'file'),
    );
    const auto = withAutoImages(config, imageRefs, new Set(files.map((e) => e.rel)));
    problems.push(...auto.problems);
    config = auto.config;
  }
  if (config !== undefined) {
    problems.push(...checkProduct(config));
    problems.push(...checkImages(config, entries, opts));
    problems.push(...(await checkHostFiles(config)));
  }
  problems.push(...checkTree(entries, buildContexts(config)));
  problems.push(...checkManifests(texts));
  if (config !== undefined) problems.push(...checkImageRefs(imageRefs, config.images));
  return { problems, config, entries, shipped, imageRefs };
}
