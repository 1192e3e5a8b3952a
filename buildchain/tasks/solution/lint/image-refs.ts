/**
 * Image discovery: every image a Solution's Kubernetes manifests reference. Reads the files the
 * build ships (`operator/deploy/**.yaml`, CRs included, and `ui/**.yaml`), every document of
 * each, and collects the `image` of every container, init container and ephemeral container of
 * any workload (Deployment, StatefulSet, DaemonSet, ReplicaSet, Job, CronJob, Pod, lists, ...)
 * plus any other string-valued `image:` key (custom resources). CRDs are skipped: their
 * schemas describe fields, they reference nothing.
 *
 * A reference is read the way the cluster will see it once MetalK8s renders the archive:
 * `ui/` files get `@VERSION@` and `@REPOSITORY@` replaced as the build does, and the archive
 * prefix (`{{ repository }}/`) is removed, leaving the image's name inside the archive.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import YAML from 'yaml';
import {
  isDigest,
  isRegistryHost,
  isRepositoryName,
  isTag,
} from '../../../lib/text/distribution-names.ts';
import { substituteUi } from '../build/layout.ts';
import { CONFIG_FILE, parseSolutionConfig } from '../config/solution-config.ts';
import { scanTree } from '../config/tree-scan.ts';
import { shippedFiles } from './ship-rules.ts';

/**
 * How a reference names its registry:
 * - `archive`: after the archive prefix (`{{ repository }}/` or `@REPOSITORY@/`): served by
 *   the Solution's own registry include;
 * - `bare`: no registry at all (`my-operator:1.0.0`): matched against the archive's images by
 *   name and tag;
 * - `external`: an explicit registry host (`quay.io/x/y:1`), not served by the archive;
 * - `invalid`: not an image reference once rendered (a placeholder such as `REPLACE_IMAGE`,
 *   a leftover template expression, uppercase letters).
 */
export type ImageRefKind = 'archive' | 'bare' | 'external' | 'invalid';

/** One image reference found in a manifest. */
export interface ImageRef {
  /** Name after the archive prefix (or after the registry host), e.g. `my-operator`. */
  readonly image: string;
  /** Tag; `latest` when the reference has neither tag nor digest, '' for a digest only. */
  readonly tag: string;
  /** Manifest file, relative to the Solution root (= its path on the ISO). */
  readonly file: string;
  /** Where in the file, e.g. `Deployment/foo container bar` or `Instance/x spec.image`. */
  readonly where: string;
  /** The reference as written (after the build's `ui/` substitutions). */
  readonly raw: string;
  readonly kind: ImageRefKind;
  /** `sha256:...` when the reference pins a digest. */
  readonly digest?: string;
  /** The registry host of an `external` reference. */
  readonly registry?: string;
}

/** The archive prefix MetalK8s renders (Jinja, any spacing). */
const ARCHIVE_PREFIX = /^\{\{-?\s*repository\s*-?\}\}\//;
const CONTAINER_LISTS: Readonly<Record<string, string>> = {
  containers: 'container',
  initContainers: 'init container',
  ephemeralContainers: 'ephemeral container',
};

interface Location {
  readonly file: string;
  readonly where: string;
}

/** Splits `name[:tag][@digest]` (no registry) into its parts; undefined when malformed. */
function splitNameTag(rest: string): { name: string; tag: string; digest?: string } | undefined {
  let s = rest;
  let digest: string | undefined;
  const at = s.indexOf('@');
  if (at >= 0) {
    digest = s.slice(at + 1);
    s = s.slice(0, at);
    if (!isDigest(digest)) return undefined;
  }
  const slash = s.lastIndexOf('/');
  const colon = s.lastIndexOf(':');
  let name = s;
  let tag = digest === undefined ? 'latest' : '';
  if (colon > slash) {
    name = s.slice(0, colon);
    tag = s.slice(colon + 1);
    if (!isTag(tag)) return undefined;
  }
  if (!isRepositoryName(name)) return undefined;
  return digest === undefined ? { name, tag } : { name, tag, digest };
}

/** Reads one reference string. Pure. */
export function parseImageRef(raw: string, loc: Location): ImageRef {
  const invalid: ImageRef = {
    image: raw,
    tag: '',
    file: loc.file,
    where: loc.where,
    raw,
    kind: 'invalid',
  };
  const trimmed = raw.trim();
  let kind: ImageRefKind;
  let rest: string;
  let registry: string | undefined;
  const prefix = ARCHIVE_PREFIX.exec(trimmed);
  if (prefix !== null) {
    kind = 'archive';
    rest = trimmed.slice(prefix[0].length);
  } else {
    const first = trimmed.split('/')[0] ?? '';
    // The distribution rule: a first component with a dot, a port or `localhost` is a host.
    const isHost =
      trimmed.includes('/') &&
      (first.includes('.') || first.includes(':') || first === 'localhost');
    if (isHost) {
      if (!isRegistryHost(first)) return invalid;
      kind = 'external';
      registry = first;
      rest = trimmed.slice(first.length + 1);
    } else {
      kind = 'bare';
      rest = trimmed;
    }
  }
  const parts = splitNameTag(rest);
  if (parts === undefined) return invalid;
  return {
    image: parts.name,
    tag: parts.tag,
    file: loc.file,
    where: loc.where,
    raw,
    kind,
    ...(parts.digest !== undefined ? { digest: parts.digest } : {}),
    ...(registry !== undefined ? { registry } : {}),
  };
}

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
    const text = rel.startsWith('ui/') && version !== undefined ? substituteUi(raw, version) : raw;
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
