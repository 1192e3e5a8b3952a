/**
 * Image discovery: every image a Solution's Kubernetes manifests reference. Reads the files the
 * build ships (`operator/deploy/**.yaml`, CRs included, and `ui/**.yaml`), every document of
 * each, and collects the `image` of every container, init container and ephemeral container of
 * any workload (Deployment, StatefulSet, DaemonSet, ReplicaSet, Job, CronJob, Pod, lists, ...),
 * `RELATED_IMAGE_*` env vars of those containers, and any other `image:` key of custom
 * resources (a string, or `{repository|name, tag, digest}`). CRDs are skipped: their schemas
 * describe fields, they reference nothing.
 *
 * A reference is read the way the cluster will see it once MetalK8s renders the archive:
 * `ui/` files get `@VERSION@` and `@REPOSITORY@` replaced as the build does, and the archive
 * prefix (`{{ repository }}/`) is removed, leaving the image's name inside the archive.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import YAML from 'yaml';
import { substituteUi } from '../build/layout.ts';
import { CONFIG_FILE, parseSolutionConfig } from '../config/solution-config.ts';
import { scanTree } from '../config/tree-scan.ts';
import { parseImageRef, type ImageRef } from './image-ref.ts';
import { renderUiJinja } from './ui-jinja.ts';
import { shippedFiles } from './ship-rules.ts';

export { parseImageRef, type ImageRef, type ImageRefKind } from './image-ref.ts';

const CONTAINER_LISTS: Readonly<Record<string, string>> = {
  containers: 'container',
  initContainers: 'init container',
  ephemeralContainers: 'ephemeral container',
};

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function objectLabel(o: Record<string, unknown>): string {
  const kind = typeof o.kind === 'string' ? o.kind : 'object';
  const meta = isRecord(o.metadata) ? o.metadata : {};
  const name = typeof meta.name === 'string' ? meta.name : '?';
  return `${kind}/${name}`;
}

/**
 * `env` entries named `RELATED_IMAGE_*` (the Operator Framework's convention for the images an
 * operator deploys) are references too.
 */
function relatedImages(
  container: Record<string, unknown>,
  file: string,
  where: string,
): ImageRef[] {
  if (!Array.isArray(container.env)) return [];
  const out: ImageRef[] = [];
  for (const e of container.env) {
    if (!isRecord(e) || typeof e.name !== 'string' || typeof e.value !== 'string') continue;
    if (e.name.startsWith('RELATED_IMAGE_'))
      out.push(parseImageRef(e.value, { file, where: `${where} env ${e.name}` }));
  }
  return out;
}

/**
 * `image: {repository: x, tag: y}` (or `name:`, optional `digest:`), the Helm-style image
 * fields of custom resources, as one reference string; undefined for other values.
 */
function imageObjectRef(value: unknown): string | undefined {
  if (!isRecord(value)) return undefined;
  const repo = typeof value.repository === 'string' ? value.repository : value.name;
  if (typeof repo !== 'string') return undefined;
  const tag =
    typeof value.tag === 'string' || typeof value.tag === 'number' ? `:${String(value.tag)}` : '';
  const digest = typeof value.digest === 'string' ? `@${value.digest}` : '';
  return `${repo}${tag}${digest}`;
}

/** Collects the references of one parsed document. Pure. */
export function imageRefsOfObject(doc: unknown, file: string): ImageRef[] {
  if (!isRecord(doc) || doc.kind === 'CustomResourceDefinition') return [];
  const out: ImageRef[] = [];
  const top = objectLabel(doc);
  const walk = (node: unknown, at: string, label: string): void => {
    if (Array.isArray(node)) {
      node.forEach((el, i) => {
        walk(el, `${at}[${String(i)}]`, label);
      });
      return;
    }
    if (!isRecord(node)) return;
    // Items of a List are objects of their own.
    const here =
      node !== doc && typeof node.kind === 'string' && isRecord(node.metadata)
        ? objectLabel(node)
        : label;
    for (const [key, value] of Object.entries(node)) {
      const childAt = at === '' ? key : `${at}.${key}`;
      const list = CONTAINER_LISTS[key];
      if (list !== undefined && Array.isArray(value)) {
        value.forEach((c, i) => {
          if (!isRecord(c)) return;
          const cname = typeof c.name === 'string' ? c.name : `#${String(i)}`;
          if (typeof c.image === 'string') {
            out.push(parseImageRef(c.image, { file, where: `${here} ${list} ${cname}` }));
          }
          out.push(...relatedImages(c, file, `${here} ${list} ${cname}`));
          for (const [k, v] of Object.entries(c)) {
            if (k !== 'image') walk(v, `${childAt}[${String(i)}].${k}`, here);
          }
        });
      } else if (key === 'image' && typeof value === 'string') {
        out.push(parseImageRef(value, { file, where: `${here} ${childAt}` }));
      } else if (key === 'image' && imageObjectRef(value) !== undefined) {
        out.push(parseImageRef(imageObjectRef(value) ?? '', { file, where: `${here} ${childAt}` }));
      } else {
        walk(value, childAt, here);
      }
    }
  };
  walk(doc, '', top);
  return out;
}

/**
 * The references of one manifest text (all documents). Documents that do not parse are
 * skipped: lint reports them as `yaml-invalid`.
 */
export function imageRefsOfText(text: string, file: string): ImageRef[] {
  const out: ImageRef[] = [];
  for (const d of YAML.parseAllDocuments(text)) {
    if (d.errors.length > 0) continue;
    out.push(...imageRefsOfObject(d.toJS(), file));
  }
  return out;
}

/** A referenced image of the archive (`images/<name>/<tag>/`). */
export interface ReferencedImage {
  readonly name: string;
  readonly tag: string;
}

/**
 * The distinct archive images the references name (archive and bare references with a tag),
 * sorted by name then tag: what an image list derived from the manifests must hold.
 */
export function referencedImages(refs: readonly ImageRef[]): ReferencedImage[] {
  const seen = new Map<string, ReferencedImage>();
  for (const r of refs) {
    if ((r.kind !== 'archive' && r.kind !== 'bare') || r.tag === '') continue;
    seen.set(`${r.image}\0${r.tag}`, { name: r.image, tag: r.tag });
  }
  const order = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
  return [...seen.values()].sort((a, b) => order(a.name, b.name) || order(a.tag, b.tag));
}

/** Options for {@link discoverImageRefs}. */
export interface DiscoverOptions {
  /** The Solution's version for `@VERSION@` in `ui/` files (default: read from solution.yaml). */
  readonly version?: string;
}

async function configVersion(root: string): Promise<string | undefined> {
  const text = await readFile(path.join(root, CONFIG_FILE), 'utf8').catch(() => undefined);
  if (text === undefined) return undefined;
  const v = parseSolutionConfig(text).config?.version;
  return v === '' ? undefined : v;
}

/**
 * The references of the shipped manifests (rel path -> text as in the Solution), read as the
 * cluster sees them: `ui/` files with the build's `@VERSION@`/`@REPOSITORY@` substitution.
 */
export function imageRefsOfTexts(
  texts: ReadonlyMap<string, string>,
  version: string | undefined,
): ImageRef[] {
  const out: ImageRef[] = [];
  for (const [rel, raw] of [...texts].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    // ui/ files as 2.4 reads them: built (@-placeholders), then Jinja-rendered (stand-in).
    const built = rel.startsWith('ui/') && version !== undefined ? substituteUi(raw, version) : raw;
    const text = rel.startsWith('ui/') ? renderUiJinja(built).text : built;
    out.push(...imageRefsOfText(text, rel));
  }
  return out;
}

/**
 * Every image reference of the Solution at `solutionRoot`, in file order (files sorted by
 * path). Unreadable files are skipped (lint reports them).
 */
export async function discoverImageRefs(
  solutionRoot: string,
  opts: DiscoverOptions = {},
): Promise<ImageRef[]> {
  const root = path.resolve(solutionRoot);
  const version = opts.version ?? (await configVersion(root));
  const texts = new Map<string, string>();
  for (const rel of shippedFiles(await scanTree(root))) {
    const text = await readFile(path.join(root, rel), 'utf8').catch(() => undefined);
    if (text !== undefined) texts.set(rel, text);
  }
  return imageRefsOfTexts(texts, version);
}
