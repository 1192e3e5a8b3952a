/**
 * A loopback distribution registry with basic auth (htpasswd, bcrypt) as the build cache of
 * the cache tests, and a containers auth file holding its credentials.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { BuildCache } from '../../buildchain/engine/cache/build-cache.ts';
import { MEDIA_OCI_MANIFEST } from '../../buildchain/lib/oci/manifest.ts';
import { OciRepositoryClient } from '../../buildchain/lib/oci/repository-client.ts';
import { afterAll, beforeAll } from 'vitest';
import { startTestRegistry, stopAll } from '../helpers/servers.ts';
import { makeTempDir, type TempDir } from '../helpers/tmp.ts';
import type { Workspace } from '../helpers/workspace.ts';
import type { LoopbackServer } from '../../buildchain/sources/embedded/servers.ts';

export const CACHE_USER = 'ci';
export const CACHE_PASSWORD = 'cache-secret';

/** A running cache registry. */
export interface CacheRegistry {
  readonly server: LoopbackServer;
  /** `127.0.0.1:PORT` */
  readonly host: string;
  /** Auth file with the right credentials. */
  readonly authFile: string;
  /** Auth file with a wrong password. */
  readonly badAuthFile: string;
  /** The registry's storage directory. */
  readonly dataDir: string;
  /** Settings for a build using repository `repo`, in `mode`. */
  env(repo: string, mode: 'read' | 'readwrite', authFile?: string): Record<string, string>;
  /** A client with the right credentials. */
  client(repo: string): OciRepositoryClient;
  /** A build cache on repository `repo` with the right credentials; its warnings go to `warnings`. */
  buildCache(
    repo: string,
    mode: 'read' | 'readwrite',
    warnings: string[],
    signal?: AbortSignal,
  ): BuildCache;
  /** Path of a blob's data file in the registry's storage. */
  blobFile(digest: string): string;
}

function authJson(host: string, user: string, password: string): string {
  const auth = Buffer.from(`${user}:${password}`).toString('base64');
  return JSON.stringify({ auths: { [host]: { auth } } });
}

/** Starts the registry under `dir` (stopped by the helpers' `stopAll`). */
export async function startCacheRegistry(dir: string): Promise<CacheRegistry> {
  const htpasswd = path.join(dir, 'htpasswd');
  execFileSync('htpasswd', ['-B', '-b', '-c', htpasswd, CACHE_USER, CACHE_PASSWORD], {
    stdio: 'ignore',
  });
  const server = await startTestRegistry({ dir: path.join(dir, 'registry'), htpasswd });
  const host = server.address;
  const authFile = path.join(dir, 'auth.json');
  writeFileSync(authFile, authJson(host, CACHE_USER, CACHE_PASSWORD));
  const badAuthFile = path.join(dir, 'bad-auth.json');
  writeFileSync(badAuthFile, authJson(host, CACHE_USER, 'wrong'));
  const dataDir = path.join(dir, 'registry', 'data');
  return {
    server,
    host,
    authFile,
    badAuthFile,
    dataDir,
    env: (repo, mode, file = authFile) => ({
      BUILD_CACHE: `oci://${host}/${repo}`,
      BUILD_CACHE_MODE: mode,
      INSECURE_REGISTRIES: host,
      REGISTRY_AUTH_FILE: file,
    }),
    client: (repo) =>
      new OciRepositoryClient({
        host,
        repository: repo,
        insecure: true,
        credentials: `${CACHE_USER}:${CACHE_PASSWORD}`,
      }),
    buildCache: (repo, mode, warnings, signal) => {
      const cache = new BuildCache(
        {
          host,
          repository: repo,
          mode,
          insecure: true,
          credentials: () => Promise.resolve(`${CACHE_USER}:${CACHE_PASSWORD}`),
        },
        signal,
      );
      cache.warnSink = (l) => warnings.push(l);
      return cache;
    },
    blobFile: (digest) => {
      const hex = digest.slice('sha256:'.length);
      return path.join(dataDir, 'docker/registry/v2/blobs/sha256', hex.slice(0, 2), hex, 'data');
    },
  };
}

/**
 * The hooks of a suite building against the cache registry: before all, a temp dir (`prefix`)
 * and the registry in it, handed to `use`; after all, every server stopped, then the suite's
 * `workspaces` and the temp dir removed.
 */
export function cacheRegistryHooks(
  prefix: string,
  use: (reg: CacheRegistry) => void,
  workspaces: readonly Workspace[],
): void {
  let tmp: TempDir | undefined;
  beforeAll(async () => {
    tmp = await makeTempDir(prefix);
    use(await startCacheRegistry(tmp.path));
  }, 30_000);
  afterAll(async () => {
    await stopAll();
    for (const ws of workspaces) await ws.cleanup();
    await tmp?.cleanup();
  });
}

/**
 * Rewrites the manifest of `tag` without its layer's inline copy (`data`), as an entry whose
 * layer is too large to travel inline (or of an older writer): a restore then fetches the
 * layer blob, which a test may have damaged.
 */
export async function dropInlineLayer(client: OciRepositoryClient, tag: string): Promise<void> {
  const m = await client.getManifest(tag, MEDIA_OCI_MANIFEST);
  if (m === undefined) throw new Error(`no manifest ${tag}`);
  const doc = JSON.parse(m.bytes.toString()) as { layers: { data?: string }[] };
  for (const l of doc.layers) delete l.data;
  await client.putManifest(tag, Buffer.from(JSON.stringify(doc)), MEDIA_OCI_MANIFEST);
}

/** Number of files under a directory (recursively; 0 when missing). */
export function countFiles(dir: string): number {
  let n = 0;
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch {
    return 0;
  }
  for (const e of entries) {
    const p = path.join(dir, e);
    n += statSync(p).isDirectory() ? countFiles(p) : 1;
  }
  return n;
}
