/**
 * The embedded mirror starts each server on first use only (sources/embedded/embedded.ts): the
 * image digests come from the seed alone, an image pull starts the registry alone, a package
 * fetch starts nginx; a build whose consumers were all restored from the build cache starts
 * neither; a file the mirror serves is read from its web root (the download's cache key) with
 * no server, the bytes nginx serves. Real docker-registry and nginx on 127.0.0.1.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  isAddressOpen,
  isGroupAlive,
  runningServerPids,
} from '../../buildchain/sources/embedded/servers.ts';
import { createSources, type Sources } from '../../buildchain/sources/sources.ts';
import { readBody } from '../../buildchain/lib/http/body.ts';
import { httpGet } from '../../buildchain/lib/http/get.ts';
import { testConfig } from '../helpers/config.ts';
import { missingTools } from '../helpers/require-tool.ts';
import { makeTempDir, type TempDir } from '../helpers/tmp.ts';
import { FIXTURE_CALICO_NODE, MIRROR_TOOLS, writeMirrorFixture } from './mirror-fixture.ts';

const missing = missingTools(...MIRROR_TOOLS);

describe.skipIf(missing.length > 0)('embedded mirror: servers started on first use', () => {
  let tmp: TempDir;
  let sources: Sources;
  let before: number[];

  beforeAll(async () => {
    tmp = await makeTempDir('mk8s-mirror-lazy-');
    await writeMirrorFixture(tmp.path);
    sources = createSources(testConfig(tmp.path, {}, 'embedded'));
    before = runningServerPids();
  });

  afterAll(async () => {
    await sources.stop();
    await tmp.cleanup();
  });

  const mine = (): number[] => runningServerPids().filter((p) => !before.includes(p));
  const nginxConf = (): boolean =>
    existsSync(path.join(tmp.path, '_build/mirror/nginx/nginx.conf'));

  it('image digests come from the seed: no server starts', async () => {
    const digest = await sources.imageDigest(FIXTURE_CALICO_NODE);
    expect(digest).toMatch(/^sha256:[a-f0-9]{64}$/);
    expect(mine()).toEqual([]);
    expect(sources.embedded?.started()).toEqual({ registry: false, web: false });
    expect(nginxConf()).toBe(false);
  }, 120_000);

  const REPOMD = 'http://mirror.centos.org/centos/7/os/x86_64/repodata/repomd.xml';

  it('a served file is read from the web root: no server starts', async () => {
    const file = await sources.servedFile?.(REPOMD);
    expect(file).toBeDefined();
    expect(readFileSync(file ?? '', 'utf8')).toContain('<repomd');
    // Never outside the web root.
    const odd = await sources.servedFile?.(
      'http://mirror.centos.org/centos/7/os/../../../../../etc/passwd',
    );
    const www = path.join(tmp.path, '_build/mirror/www') + path.sep;
    expect(odd === undefined || odd.startsWith(www)).toBe(true);
    expect(mine()).toEqual([]);
    expect(sources.embedded?.started()).toEqual({ registry: false, web: false });
    expect(nginxConf()).toBe(false);
  });

  it('an image pull starts the registry alone; concurrent asks share one start', async () => {
    const [a, b] = await Promise.all([sources.registry('quay.io'), sources.registry('docker.io')]);
    expect(a.host).toBe(b.host);
    expect(await isAddressOpen(a.host)).toBe(true);
    expect(mine()).toHaveLength(1);
    expect(sources.embedded?.started()).toEqual({ registry: true, web: false });
    expect(nginxConf()).toBe(false);
  });

  it('a package fetch starts nginx; stop() stops both', async () => {
    const url = await sources.repoUrl('http://mirror.centos.org/centos/7/os/x86_64/');
    const host = new URL(url).host;
    expect(await isAddressOpen(host)).toBe(true);
    // nginx serves the very bytes of the served file.
    const res = await httpGet(await sources.repoUrl(REPOMD));
    expect(res.status).toBe(200);
    expect(await readBody(res.body)).toEqual(
      readFileSync((await sources.servedFile?.(REPOMD)) ?? ''),
    );
    expect(sources.embedded?.started()).toEqual({ registry: true, web: true });
    const groups = mine();
    expect(groups).toHaveLength(2);
    await sources.stop();
    expect(groups.filter((pid) => isGroupAlive(pid))).toEqual([]);
    expect(await isAddressOpen(host)).toBe(false);
    expect(sources.embedded?.started()).toEqual({ registry: false, web: false });
    await expect(sources.registry('quay.io')).rejects.toThrow(/stopped/);
    await expect(sources.repoUrl('http://mirror.centos.org/centos/7/os/x86_64/')).rejects.toThrow(
      /stopped/,
    );
  });
});
