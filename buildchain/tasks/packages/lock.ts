/**
 * The package lock of an OS family (`<lockDir>/<osFamily>.lock.json`): the resolved RPMs (NEVRA,
 * repo, location, checksum) and the repos' GPG key checksums. While the package list is
 * unchanged (same request digest) the download uses the lock and never resolves again.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { PackageList } from '../../config/content-types.ts';
import { digestOf } from './fetch.ts';

/** One locked RPM. */
export interface LockedPackage {
  readonly name: string;
  readonly epoch: string;
  readonly version: string;
  readonly release: string;
  readonly arch: string;
  /** Repo name (RepoSpec.name). */
  readonly repo: string;
  /** Location relative to the repo base URL. */
  readonly href: string;
  readonly checksumType: string;
  readonly checksum: string;
  readonly size: number;
}

/** One locked GPG key of a repo. */
export interface LockedKey {
  readonly repo: string;
  /** Upstream URL. */
  readonly url: string;
  readonly sha256: string;
}

export interface PackageLock {
  readonly lockVersion: 1;
  readonly osFamily: string;
  /** Digest of what was asked ({@link requestDigest}). */
  readonly request: string;
  readonly keys: readonly LockedKey[];
  readonly packages: readonly LockedPackage[];
}

/**
 * Digest of the resolution request: releasever, basearch, repos (upstream URLs and keys), the
 * downloaded package specs and what the locally built RPMs require from the repos. Mirrors do
 * not enter it: switching mirrors keeps the lock.
 */
export function requestDigest(list: PackageList, localRequires: readonly string[] = []): string {
  const req = {
    releasever: list.releasever,
    basearch: list.basearch ?? 'x86_64',
    repos: list.repos.map((r) => ({ name: r.name, baseUrl: r.baseUrl, gpgKeys: r.gpgKeys })),
    packages: list.packages
      .filter((p) => !p.built)
      .map((p) => [p.name, p.version ?? '', p.release ?? ''])
      .sort(),
    ...(localRequires.length === 0 ? {} : { localRequires: [...new Set(localRequires)].sort() }),
  };
  return digestOf(Buffer.from(JSON.stringify(req)));
}

export function lockPath(lockDir: string, osFamily: string): string {
  return path.join(lockDir, `${osFamily}.lock.json`);
}

/** Stable text of a lock (sorted entries, 2-space JSON, final newline). */
export function serializeLock(lock: PackageLock): string {
  const packages = [...lock.packages].sort((a, b) =>
    `${a.repo}/${a.name}/${a.arch}/${a.href}`.localeCompare(
      `${b.repo}/${b.name}/${b.arch}/${b.href}`,
    ),
  );
  return `${JSON.stringify({ ...lock, packages }, null, 2)}\n`;
}

/** Reads a lock; undefined when absent or not a lock of this OS family. */
export async function readLock(file: string, osFamily: string): Promise<PackageLock | undefined> {
  let doc: unknown;
  try {
    doc = JSON.parse(await readFile(file, 'utf8'));
  } catch {
    return undefined;
  }
  const l = doc as Partial<PackageLock>;
  if (
    l.lockVersion !== 1 ||
    l.osFamily !== osFamily ||
    !Array.isArray(l.packages) ||
    !Array.isArray(l.keys)
  ) {
    return undefined;
  }
  return l as PackageLock;
}

/** File name of an RPM in the cache and on the ISO. */
export function rpmFileName(p: Pick<LockedPackage, 'href'>): string {
  return path.posix.basename(p.href);
}
