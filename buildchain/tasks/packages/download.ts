/**
 * `packaging:download`: resolve the package list with its dependencies (dnf, hermetic), record
 * the result in the lock, download exactly the locked RPMs and GPG keys into the cache, verify
 * each RPM's checksum against the repodata and its signature against its repo's keys, and write
 * one manifest per repo (`resolved/<isoName>.json`) for the repository tasks.
 *
 * With a lock matching the list and everything in the cache, nothing touches the network.
 */
import { readFileSync, statSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { PackageList, RepoSpec } from '../../config/content-types.ts';
import { TaskError } from '../../engine/task.ts';
import type { Exec } from '../../engine/exec/run-command.ts';
import { fromSync } from '../../lib/async/from-sync.ts';
import { httpDefaults } from '../../lib/http/get.ts';
import { proxyEnvironment } from '../../lib/http/proxy.ts';
import { tailLines, type Log } from './output.ts';
import {
  classifyDnfFailure,
  DNF_CONFIG,
  dnfConfigPath,
  dnfResolveArgs,
  packageSpecString,
  parseDnfUrls,
} from './dnf-args.ts';
import {
  fetchVerified,
  fileDigest,
  hasVerifiedFile,
  readUrl,
  digestOf,
  writeIfChanged,
} from './fetch.ts';
import {
  readLock,
  requestDigest,
  rpmFileName,
  serializeLock,
  type LockedKey,
  type LockedPackage,
  type PackageLock,
} from './lock.ts';
import type { PackagingPaths } from './paths.ts';
import { readPrimary, joinUrl, type PrimaryEntry } from './repodata.ts';
import { parseChecksig } from './signing.ts';
import { externalRequirements, type LocalRequirement, type PackageDeps } from './rpm-deps.ts';

/**
 * What the built packages `names` require from the repos, from their deps files
 * (`<rpmDir>/<name>.deps.json`, written by the RPM tasks). Read synchronously: the download's
 * up-to-date check reads them on every no-op (hundreds of small files; a promise and four
 * thread-pool round trips each cost more than the read).
 */
export function readLocalRequirements(
  rpmDir: string,
  names: readonly string[],
): Promise<LocalRequirement[]> {
  return fromSync(() =>
    externalRequirements(
      names.map(
        (pkg) =>
          JSON.parse(readFileSync(path.join(rpmDir, `${pkg}.deps.json`), 'utf8')) as PackageDeps,
      ),
    ),
  );
}

function localRequireStrings(o: Pick<DownloadOptions, 'localRequirements'>): string[] {
  return [...new Set((o.localRequirements ?? []).map((r) => r.requires))].sort();
}

/** Options for {@link downloadPackages}. */
export interface DownloadOptions {
  readonly list: PackageList;
  readonly paths: Pick<PackagingPaths, 'root' | 'cache' | 'keys' | 'dnf' | 'resolved'>;
  readonly lockFile: string;
  /** Maps an upstream URL to the URL to use (`Sources.repoUrl`); called only when fetching. */
  readonly resolveUrl: (upstreamUrl: string) => Promise<string>;
  readonly exec: Exec;
  readonly log?: Log;
  readonly dnfBin?: string;
  readonly rpmBin?: string;
  /** Parallel downloads (default 4). */
  readonly concurrency?: number;
  /** Appended to unreachable-repo hints, e.g. "SOURCES=upstream". */
  readonly settingsHint?: string;
  /** What the locally built RPMs require from the repos (resolved with the list). */
  readonly localRequirements?: readonly LocalRequirement[];
}

/** One file of a repo manifest; `file` is relative to the packaging root. */
export interface RepoManifestFile {
  readonly file: string;
  /** Name in the ISO repo dir. */
  readonly name: string;
  readonly sha256: string;
}

/** `resolved/<isoName>.json`: what the repository task puts in one repo. */
export interface RepoManifest {
  readonly repo: string;
  readonly isoName: string;
  readonly rpms: readonly RepoManifestFile[];
  readonly keys: readonly RepoManifestFile[];
}

/** Result of {@link downloadPackages}. */
export interface DownloadResult {
  readonly lock: PackageLock;
  /** True when dnf ran (no lock, or the list changed). */
  readonly resolved: boolean;
  /** Files fetched from the network (RPMs and keys). */
  readonly fetched: number;
  readonly manifests: readonly RepoManifest[];
}

const hint = (o: DownloadOptions) =>
  `Check SOURCES and PACKAGE_MIRRORS in .env${o.settingsHint === undefined ? '' : ` (${o.settingsHint})`}; upstream URLs are in packages-specs/${o.list.osFamily}.yaml.`;

function repoByName(list: PackageList, name: string): RepoSpec {
  const r = list.repos.find((x) => x.name === name);
  if (r === undefined) throw new TaskError('internal-error', `unknown repo '${name}'`);
  return r;
}

async function mapUrls(o: DownloadOptions): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const r of o.list.repos)
    out.set(r.name, `${(await o.resolveUrl(r.baseUrl)).replace(/\/+$/, '')}/`);
  return out;
}

async function runDnf(o: DownloadOptions, urls: Map<string, string>): Promise<string[]> {
  const local = localRequireStrings(o);
  const specs = [
    ...new Set([
      ...o.list.packages
        .filter((p) => !p.built)
        .map(packageSpecString)
        .sort(),
      ...local,
    ]),
  ];
  if (specs.length === 0) return [];
  await rm(o.paths.dnf, { recursive: true, force: true });
  await mkdir(o.paths.dnf, { recursive: true });
  await writeFile(dnfConfigPath(o.paths.dnf), DNF_CONFIG);
  const argv = dnfResolveArgs({
    bin: o.dnfBin ?? 'dnf',
    workDir: o.paths.dnf,
    releasever: o.list.releasever,
    basearch: o.list.basearch,
    repos: o.list.repos.map((r) => ({ name: r.name, url: urls.get(r.name) ?? r.baseUrl })),
    specs,
  });
  o.log?.(
    `resolving ${String(specs.length - local.length)} packages and ${String(local.length)} requirements of local RPMs with dnf`,
  );
  // dnf fetches the repodata itself: the proxies of .env too (HTTPS_PROXY, ...).
  const r = await o.exec(argv, { reject: false, env: proxyEnvironment(httpDefaults().proxies) });
  if (r.exitCode === 0) return parseDnfUrls(r.stdout);
  const f = classifyDnfFailure(r.stderr);
  const details = { argv, exitCode: r.exitCode, stderrTail: tailLines(r.stderr) };
  switch (f.kind) {
    case 'repo-unreachable':
      throw new TaskError(
        'unreachable',
        `package repo '${f.repo}' is unreachable at ${urls.get(f.repo) ?? '?'}: ${f.detail}`,
        { ...details, hint: hint(o) },
      );
    case 'no-package': {
      const needed = (o.localRequirements ?? []).filter((l) => f.names.includes(l.requires));
      if (needed.length > 0)
        throw new TaskError(
          'invalid-input',
          `no package of the configured repos provides what local RPMs require: ${needed.map((l) => `${l.pkg} requires ${l.requires}`).join(', ')}`,
          {
            ...details,
            hint: `Add the repo (or package) providing it to packages-specs/${o.list.osFamily}.yaml, or fix the Requires: of packages-specs/${needed[0]?.pkg ?? '<pkg>'}/${needed[0]?.pkg ?? '<pkg>'}.spec.`,
          },
        );
      throw new TaskError(
        'invalid-input',
        `no package matches ${f.names.join(', ')} in the configured repos`,
        {
          ...details,
          hint: `Fix the name/version in packages-specs/${o.list.osFamily}.yaml or add the repo that has it.`,
        },
      );
    }
    case 'unresolvable':
      throw new TaskError('invalid-input', `the package list cannot be resolved: ${f.detail}`, {
        ...details,
        hint: `Add the repo providing the missing dependency to packages-specs/${o.list.osFamily}.yaml.`,
      });
    case 'other':
      throw new TaskError(
        'command-failed',
        `dnf failed (exit ${r.exitCode}): ${f.detail}`,
        details,
      );
  }
}

/** Resolves with dnf, then looks every URL up in its repo's primary metadata. */
async function resolveLock(o: DownloadOptions, request: string): Promise<PackageLock> {
  const urls = await mapUrls(o);
  const resolved = await runDnf(o, urls);
  const byRepo = new Map<string, string[]>();
  for (const u of resolved) {
    const repo = [...urls.entries()]
      .filter(([, base]) => u.startsWith(base))
      .sort((a, b) => b[1].length - a[1].length)[0];
    if (repo === undefined)
      throw new TaskError('internal-error', `dnf returned ${u}, outside every configured repo`);
    byRepo.set(repo[0], [...(byRepo.get(repo[0]) ?? []), u.slice(repo[1].length)]);
  }
  const packages: LockedPackage[] = [];
  for (const [repo, hrefs] of byRepo) {
    const primary = new Map<string, PrimaryEntry>();
    for (const e of await readPrimary(urls.get(repo) ?? '', `package repo '${repo}'`))
      primary.set(e.href, e);
    for (const href of hrefs) {
      const e = primary.get(decodeURI(href)) ?? primary.get(href);
      if (e === undefined)
        throw new TaskError(
          'invalid-input',
          `repo '${repo}': ${href} is not in its primary metadata`,
          { hint: hint(o) },
        );
      packages.push({
        name: e.name,
        epoch: e.epoch,
        version: e.version,
        release: e.release,
        arch: e.arch,
        repo,
        href: e.href,
        checksumType: e.checksumType,
        checksum: e.checksum,
        size: e.size,
      });
    }
  }
  const keys: LockedKey[] = [];
  for (const r of o.list.repos) {
    for (const url of r.gpgKeys) {
      const data = await readUrl(await o.resolveUrl(url), `GPG key of repo '${r.name}'`);
      keys.push({ repo: r.name, url, sha256: digestOf(data) });
    }
  }
  return { lockVersion: 1, osFamily: o.list.osFamily, request, keys, packages };
}

function keyPath(o: DownloadOptions, k: LockedKey, n: number): string {
  return path.join(o.paths.keys, k.repo, `${String(n)}.asc`);
}

function rpmPath(o: DownloadOptions, p: LockedPackage): string {
  return path.join(o.paths.cache, p.repo, rpmFileName(p));
}

async function pool<T>(items: readonly T[], n: number, f: (x: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const item = items[next++];
      if (item !== undefined) await f(item);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, n) }, worker));
}

/** Fetches whatever the cache lacks; returns how many files were fetched. */
async function fillCache(o: DownloadOptions, lock: PackageLock): Promise<number> {
  let fetched = 0;
  const repoKeys = new Map<string, number>();
  for (const k of lock.keys) {
    const n = (repoKeys.get(k.repo) ?? 0) + 1;
    repoKeys.set(k.repo, n);
    const dest = keyPath(o, k, n);
    if (await hasVerifiedFile(dest, { type: 'sha256', value: k.sha256 })) continue;
    await fetchVerified(
      await o.resolveUrl(k.url),
      dest,
      { type: 'sha256', value: k.sha256 },
      `GPG key ${k.url} of repo '${k.repo}'`,
      `The key differs from the one in the lock ${o.lockFile}: if upstream rotated it on purpose, delete the lock to resolve again.`,
    );
    fetched++;
  }
  await pool(lock.packages, o.concurrency ?? 4, async (p) => {
    const dest = rpmPath(o, p);
    const expected = { type: p.checksumType, value: p.checksum, size: p.size };
    if (await hasVerifiedFile(dest, expected)) return;
    const base = await o.resolveUrl(repoByName(o.list, p.repo).baseUrl);
    o.log?.(`downloading ${rpmFileName(p)} from repo '${p.repo}'`);
    await fetchVerified(
      joinUrl(base, p.href),
      dest,
      expected,
      `RPM ${rpmFileName(p)} of repo '${p.repo}'`,
      `The file served does not match the repodata checksum (tampered or corrupted mirror). Check the mirror; if the repo was legitimately rebuilt, delete ${o.lockFile} to resolve again.`,
    );
    fetched++;
  });
  return fetched;
}

/** Checks every RPM of each signed repo against that repo's keys, in a private rpm database. */
async function checkSignatures(o: DownloadOptions, lock: PackageLock): Promise<void> {
  for (const repo of o.list.repos.filter((r) => r.gpgKeys.length > 0)) {
    const rpms = lock.packages.filter((p) => p.repo === repo.name).map((p) => rpmPath(o, p));
    if (rpms.length === 0) continue;
    const db = path.join(o.paths.root, 'rpmdb', repo.name);
    await rm(db, { recursive: true, force: true });
    await mkdir(db, { recursive: true });
    const rpm = o.rpmBin ?? 'rpm';
    const keys = lock.keys.filter((k) => k.repo === repo.name).map((k, i) => keyPath(o, k, i + 1));
    await o.exec([rpm, '--dbpath', db, '--import', ...keys]);
    const r = await o.exec([rpm, '--dbpath', db, '-K', ...rpms], {
      reject: false,
      env: { LC_ALL: 'C' },
    });
    const status = parseChecksig(r.stdout);
    for (const file of rpms) {
      const s = status.get(file);
      if (s === 'signed') continue;
      const what = `RPM ${path.basename(file)} of repo '${repo.name}'`;
      throw new TaskError(
        s === 'bad-digest' ? 'digest-mismatch' : 'invalid-input',
        s === 'unsigned'
          ? `${what} is not signed, but the repo declares GPG keys`
          : `${what} fails its signature check against the repo's keys (${s ?? 'no result'})`,
        {
          hint: `Repo '${repo.name}' is signed with ${repo.gpgKeys.join(', ')}: the mirror serves a package not signed by these keys. Fix the mirror, or the repo's gpgKeys in packages-specs/${o.list.osFamily}.yaml.`,
          stderrTail: tailLines(r.stdout + r.stderr),
        },
      );
    }
  }
}

async function writeManifests(o: DownloadOptions, lock: PackageLock): Promise<RepoManifest[]> {
  const out: RepoManifest[] = [];
  for (const repo of o.list.repos) {
    const rpms: RepoManifestFile[] = [];
    for (const p of lock.packages.filter((x) => x.repo === repo.name)) {
      const file = rpmPath(o, p);
      const sha256 = p.checksumType === 'sha256' ? p.checksum : await fileDigest(file);
      rpms.push({ file: path.relative(o.paths.root, file), name: rpmFileName(p), sha256 });
    }
    const stem = repo.isoName.replace(/-[^-]+$/, '');
    const keys = lock.keys
      .filter((k) => k.repo === repo.name)
      .map((k, i) => ({
        file: path.relative(o.paths.root, keyPath(o, k, i + 1)),
        name: `RPM-GPG-KEY-${stem}-${o.list.releasever}_${String(i + 1)}`,
        sha256: k.sha256,
      }));
    const m: RepoManifest = {
      repo: repo.name,
      isoName: repo.isoName,
      rpms: rpms.sort((a, b) => a.name.localeCompare(b.name)),
      keys,
    };
    await writeIfChanged(
      path.join(o.paths.resolved, `${repo.isoName}.json`),
      `${JSON.stringify(m, null, 2)}\n`,
    );
    out.push(m);
  }
  return out;
}

/** Resolves (when needed), downloads, verifies; writes the lock and the repo manifests. */
export async function downloadPackages(o: DownloadOptions): Promise<DownloadResult> {
  // The build cache carries these directories whole (even when a repo has no RPM or key).
  for (const d of [o.paths.cache, o.paths.keys, o.paths.resolved])
    await mkdir(d, { recursive: true });
  const request = requestDigest(o.list, localRequireStrings(o));
  const existing = await readLock(o.lockFile, o.list.osFamily);
  const reuse = existing?.request === request;
  const lock = reuse ? existing : await resolveLock(o, request);
  const fetched = await fillCache(o, lock);
  await checkSignatures(o, lock);
  await writeIfChanged(o.lockFile, serializeLock(lock));
  const manifests = await writeManifests(o, lock);
  o.log?.(
    `${lock.packages.length} RPMs ready (${String(fetched)} fetched, ${reuse ? 'lock reused' : 'resolved'})`,
  );
  return { lock, resolved: !reuse, fetched, manifests };
}

/**
 * What the download's result depends on beyond its declared inputs (the build cache's key
 * material, engine/cache/key.ts): with a lock matching the request, the lock itself (it pins
 * every RPM and key by checksum); otherwise dnf resolves against what the repos serve now, so
 * the sha256 of each repo's `repodata/repomd.xml` and of each GPG key as served. No URL goes
 * in (mirrors differ between machines; the content is what counts).
 */
export async function downloadPins(
  o: Pick<DownloadOptions, 'list' | 'lockFile' | 'localRequirements' | 'resolveUrl'> & {
    /** The bytes served at an upstream URL when readable without a request (the embedded mirror). */
    readonly readServed?: (upstreamUrl: string) => Promise<Buffer | undefined>;
  },
): Promise<unknown> {
  // `url()` gives the URL to fetch when the bytes cannot be read locally.
  const read = async (upstreamUrl: string, url: () => Promise<string>, what: string) =>
    (await o.readServed?.(upstreamUrl)) ?? readUrl(await url(), what);
  const lock = await readLock(o.lockFile, o.list.osFamily);
  if (lock !== undefined && lock.request === requestDigest(o.list, localRequireStrings(o)))
    return { lock: digestOf(Buffer.from(serializeLock(lock))) };
  const repomd: Record<string, string> = {};
  const keys: Record<string, string> = {};
  // Small files: fetched all at once; the records are filled in the list's order.
  const fetched = await Promise.all(
    o.list.repos.map(async (r) => ({
      name: r.name,
      repomd: digestOf(
        await read(
          joinUrl(r.baseUrl, 'repodata/repomd.xml'),
          async () => joinUrl(await o.resolveUrl(r.baseUrl), 'repodata/repomd.xml'),
          `package repo '${r.name}'`,
        ),
      ),
      keys: await Promise.all(
        r.gpgKeys.map(async (url) => ({
          url,
          sha256: digestOf(await read(url, () => o.resolveUrl(url), `GPG key of repo '${r.name}'`)),
        })),
      ),
    })),
  );
  for (const r of fetched) {
    repomd[r.name] = r.repomd;
    for (const k of r.keys) keys[k.url] = k.sha256;
  }
  return { repomd, keys };
}

/** Size of a cached file; undefined when it cannot be stat'ed (missing, unreadable). */
function cachedSize(file: string): number | undefined {
  try {
    return statSync(file, { throwIfNoEntry: false })?.size;
  } catch {
    return undefined;
  }
}

/**
 * Cheap up-to-date check for the download task: the lock matches the list and every locked RPM
 * and key is in the cache with its size. Returns true, or why the task must run.
 */
export async function downloadIsFresh(
  o: Pick<DownloadOptions, 'list' | 'paths' | 'lockFile' | 'localRequirements'>,
): Promise<true | string> {
  const lock = await readLock(o.lockFile, o.list.osFamily);
  if (lock === undefined) return `no lock at ${o.lockFile}`;
  if (lock.request !== requestDigest(o.list, localRequireStrings(o)))
    return 'the package list (or what local RPMs require) changed since the lock was written';
  for (const p of lock.packages) {
    // One stat per locked RPM on every no-op: synchronous (no promise each).
    if (cachedSize(path.join(o.paths.cache, p.repo, rpmFileName(p))) !== p.size)
      return `${rpmFileName(p)} is missing from the cache`;
  }
  return true;
}
