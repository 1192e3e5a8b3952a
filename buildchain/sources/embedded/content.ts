/**
 * What the embedded mirror imitates, derived from the content lists: the upstream images, the
 * packages per upstream repo, the upstream source files of `packages-specs/<name>/sources.yaml`,
 * and the repo GPG key URLs. `planMirror` is pure; `loadMirrorPlan` reads the lists.
 */
import { readFileSync, type Dirent } from 'node:fs';
import path from 'node:path';
import { fromSync } from '../../lib/async/from-sync.ts';
import { listDirSync } from '../../lib/fs/walk.ts';
import { parseYaml as parse } from '../../lib/text/parse-yaml.ts';
import type { ImageEntry, PackageList } from '../../config/content-types.ts';
import { loadImageListSync } from '../../config/images.ts';
import { sha256Hex } from '../../lib/fs/hash.ts';
import { expandRepoVars, loadPackageListSync } from '../../config/packages.ts';
import type { StandInImageRef } from './stand-in-image.ts';
import { UPSTREAM_CATALOG, type CatalogRpm } from './upstream-catalog.ts';
import { RELEASE_SCALE, type ScaleTable } from '../../config/stand-in-scale.ts';
import { scaleRepos } from './scale-plan.ts';
import type { StandInRpm } from './stand-in-types.ts';

/**
 * Code-unit order. Not localeCompare: its first call loads ICU's collation (about 10 ms), paid
 * on every no-op build (mirror:seed's up-to-date check plans the mirror).
 */
function byCodeUnit(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** One upstream yum repository served by the mirror under `/<dir>/`. */
export interface MirrorRepo {
  /** Directory under the web root, usually the repo name (`base`, `epel`...). */
  readonly dir: string;
  /** Upstream base URLs as written (with `$releasever`...) and expanded; no trailing slash. */
  readonly baseUrls: readonly string[];
  readonly rpms: readonly StandInRpm[];
}

/** Everything the mirror serves, with no ports: stable input of the seed stamp. */
export interface MirrorPlan {
  /** STAND_IN_SCALE=release gives images their layer lists and RPMs their payloads. */
  readonly scale?: 'release';
  /** Seed of the generated content (release scale). */
  readonly seed?: string;
  readonly images: readonly StandInImageRef[];
  readonly repos: readonly MirrorRepo[];
  /** Upstream URLs of source files (served under `/_files/<host>/<path>`). */
  readonly files: readonly string[];
  /** Upstream URLs of repo GPG keys (served with the mirror's own signing key). */
  readonly gpgKeys: readonly string[];
}

/** Version/release of a stand-in for an unpinned package. */
export const DEFAULT_VERSION = '1.0.0';
export const DEFAULT_RELEASE = '1';

/** The stand-in of a listed package: its pin, else the catalogue's version, else the default. */
function listedRpm(
  p: { name: string; version?: string; release?: string },
  known: CatalogRpm | undefined,
): StandInRpm {
  const pinned = p.version !== undefined;
  return {
    name: p.name,
    version: p.version ?? known?.version ?? DEFAULT_VERSION,
    release: p.release ?? (pinned ? DEFAULT_RELEASE : (known?.release ?? DEFAULT_RELEASE)),
    ...(known?.provides === undefined ? {} : { provides: known.provides }),
    ...(known?.requires === undefined ? {} : { requires: known.requires }),
  };
}

function trimSlash(url: string): string {
  return url.replace(/\/+$/, '');
}

/** Builds the mirror plan from parsed content lists. Pure; sorted for a stable stamp. */
export function planMirror(
  images: readonly ImageEntry[],
  packageLists: readonly PackageList[],
  sourceFileUrls: readonly string[],
  options: {
    readonly catalog?: Readonly<Record<string, readonly CatalogRpm[]>>;
    /** The release-scale table (STAND_IN_SCALE=release); absent: small stand-ins. */
    readonly scale?: ScaleTable;
  } = {},
): MirrorPlan {
  const scale = options.scale;
  const refs = new Map<string, StandInImageRef>();
  for (const image of images) {
    if (image.source === undefined) continue;
    const ref: StandInImageRef = {
      registry: image.source.registry,
      repository: image.source.repository,
      tag: image.version,
      platforms: image.platforms,
      ...(scale?.images[image.name] === undefined ? {} : { layers: scale.images[image.name] }),
    };
    const key = `${ref.registry}/${ref.repository}:${ref.tag}`;
    const seen = refs.get(key);
    // Two entries for one upstream reference share a stand-in; keep the richer one.
    if (seen === undefined || ref.platforms === 'all') refs.set(key, ref);
  }
  const repos = new Map<string, { baseUrls: Set<string>; rpms: Map<string, StandInRpm> }>();
  const gpgKeys = new Set<string>();
  const catalog = options.catalog ?? UPSTREAM_CATALOG;
  for (const list of packageLists) {
    const basearch = list.basearch ?? 'x86_64';
    const dirOf = new Map<string, string>();
    for (const repo of list.repos) {
      const urls = [
        trimSlash(repo.baseUrl),
        trimSlash(expandRepoVars(repo.baseUrl, list.releasever, basearch)),
      ];
      let dir = repo.name;
      const existing = repos.get(dir);
      if (existing !== undefined && !urls.some((u) => existing.baseUrls.has(u)))
        dir = `${repo.name}-${list.osFamily}`;
      const entry = repos.get(dir) ?? {
        baseUrls: new Set<string>(),
        rpms: new Map<string, StandInRpm>(),
      };
      for (const u of urls) entry.baseUrls.add(u);
      repos.set(dir, entry);
      dirOf.set(repo.name, dir);
      for (const key of repo.gpgKeys) gpgKeys.add(expandRepoVars(key, list.releasever, basearch));
      // What upstream has beyond the list; listed packages below replace these entries.
      for (const extra of catalog[repo.name] ?? []) {
        if (!entry.rpms.has(extra.name)) entry.rpms.set(extra.name, listedRpm(extra, extra));
      }
    }
    const fallback = list.repos[0]?.name;
    for (const p of list.packages) {
      if (p.built) continue;
      const repoName = p.repo !== '' && dirOf.has(p.repo) ? p.repo : (fallback ?? '');
      const dir = dirOf.get(repoName);
      if (dir === undefined) continue;
      const known = catalog[repoName]?.find((c) => c.name === p.name);
      repos.get(dir)?.rpms.set(p.name, listedRpm(p, known));
    }
  }
  if (scale !== undefined) {
    const listed = packageLists.flatMap((l) =>
      l.packages.filter((p) => !p.built).map((p) => p.name),
    );
    scaleRepos(
      [...repos.entries()].map(([name, r]) => ({ name, rpms: r.rpms })),
      scale,
      [...new Set(listed)].sort(),
    );
  }
  return {
    ...(scale === undefined ? {} : { scale: 'release' as const, seed: scale.seed }),
    images: [...refs.values()].sort((a, b) =>
      byCodeUnit(
        `${a.registry}/${a.repository}:${a.tag}`,
        `${b.registry}/${b.repository}:${b.tag}`,
      ),
    ),
    repos: [...repos.entries()]
      .map(([dir, r]) => ({
        dir,
        baseUrls: [...r.baseUrls].sort(),
        rpms: [...r.rpms.values()].sort((a, b) => byCodeUnit(a.name, b.name)),
      }))
      .sort((a, b) => byCodeUnit(a.dir, b.dir)),
    files: [...new Set(sourceFileUrls)].sort(),
    gpgKeys: [...gpgKeys].sort(),
  };
}

/** Hash of a plan (and of the stand-in formats): the seed stamp. */
export function planHash(plan: MirrorPlan, formatVersion: string): string {
  return sha256Hex(formatVersion + JSON.stringify(plan));
}

/** Collects every `url:` string of a `sources.yaml` document. */
export function sourceUrlsOf(doc: unknown): string[] {
  const out: string[] = [];
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) v.forEach(walk);
    else if (typeof v === 'object' && v !== null) {
      for (const [k, x] of Object.entries(v)) {
        if (k === 'url' && typeof x === 'string' && /^https?:\/\//.test(x)) out.push(x);
        else walk(x);
      }
    }
  };
  walk(doc);
  return out;
}

/**
 * Reads the content lists under `root` and plans the mirror. The reads are synchronous (a few
 * small files, on every build's start: one thread pool round trip each cost more).
 */
export function loadMirrorPlan(
  root: string,
  projectName?: string,
  scale: 'small' | 'release' = 'small',
): Promise<MirrorPlan> {
  return fromSync(() => loadMirrorPlanSync(root, projectName, scale));
}

function loadMirrorPlanSync(
  root: string,
  projectName: string | undefined,
  scale: 'small' | 'release',
): MirrorPlan {
  const images = loadImageListSync(root);
  const specs = path.join(root, 'packages-specs');
  // The listing the other readers of packages-specs/ share (sorted by code unit).
  let entries: readonly Dirent[] = [];
  try {
    entries = listDirSync(specs);
  } catch {
    // no package lists
  }
  const lists: PackageList[] = [];
  const urls: string[] = [];
  for (const e of entries) {
    if (e.isFile() && e.name.endsWith('.yaml')) {
      const options = projectName === undefined ? {} : { projectName };
      lists.push(loadPackageListSync(root, e.name.replace(/\.yaml$/, ''), options));
    } else if (e.isDirectory()) {
      let text = '';
      try {
        text = readFileSync(path.join(specs, e.name, 'sources.yaml'), 'utf8');
      } catch {
        // no remote sources
      }
      if (text !== '') urls.push(...sourceUrlsOf(parse(text)));
    }
  }
  return planMirror(images, lists, urls, scale === 'release' ? { scale: RELEASE_SCALE } : {});
}
