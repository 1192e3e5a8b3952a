/**
 * Remote images of a Solution: pulled by pinned digest through the Sources mechanism from a
 * loopback docker-registry, deduplicated with the locally built image, and a failed pull
 * leaves no ISO.
 */
import { createHash } from 'node:crypto';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import YAML from 'yaml';
import type { ImageEntry } from '../../buildchain/config/content-types.ts';
import { TaskError } from '../../buildchain/engine/task.ts';
import { buildSolution } from '../../buildchain/tasks/solution/build/build.ts';
import { initSolution } from '../../buildchain/tasks/solution/init/init.ts';
import { inspectSolutionIso } from '../../buildchain/tasks/solution/verify/inspect.ts';
import { verifySolutionIso } from '../../buildchain/tasks/solution/verify/verify.ts';
import type { Sources } from '../../buildchain/sources/sources.ts';
import { missingTools } from '../helpers/require-tool.ts';
import { startTestRegistry, stopAll } from '../helpers/servers.ts';
import { makeTempDir, type TempDir } from '../helpers/tmp.ts';

const missing = missingTools(
  'buildah',
  'skopeo',
  'xorriso',
  'isoinfo',
  'docker-registry',
  'busybox',
);

/** Sources reaching one loopback registry for every upstream host. */
function loopbackSources(address: string, asked: string[]): Sources {
  return {
    kind: 'site',
    lockDir: '',
    describe: () => `site (${address})`,
    registry: (host: string) => {
      asked.push(host);
      return Promise.resolve({ host: address, pathPrefix: 'mirror', insecure: true });
    },
    imageDigest: (image: ImageEntry) => Promise.resolve(image.digest),
    repoUrl: (url: string) => Promise.resolve(url),
    stop: () => Promise.resolve(),
  };
}

describe.skipIf(missing.length > 0)('Solution with a remote image', () => {
  let tmp: TempDir;
  let dir: string;
  let digest: string;
  let sources: Sources;
  const asked: string[] = [];

  beforeAll(async () => {
    tmp = await makeTempDir('mk8s-solution-remote-');
    dir = path.join(tmp.path, 'sol');
    await initSolution(dir, { name: 'Remote', version: '1.0.0' });
    // Build the skeleton once to get an image layout, then push it to the registry.
    const work = path.join(tmp.path, 'work');
    await buildSolution({
      dir,
      output: path.join(tmp.path, 'first', 'r.iso'),
      workDir: work,
      sourceDateEpoch: 1700000000,
      allowHostFiles: true,
    });
    const layout = path.join(work, 'images', 'remote-app', '1.0.0');
    digest = `sha256:${createHash('sha256')
      .update(await readFile(path.join(layout, 'manifest.json')))
      .digest('hex')}`;
    const reg = await startTestRegistry({ dir: path.join(tmp.path, 'registry') });
    await execa('skopeo', [
      'copy',
      '-q',
      '--dest-tls-verify=false',
      `dir:${layout}`,
      `docker://${reg.address}/mirror/acme/app:1.0`,
    ]);
    sources = loopbackSources(reg.address, asked);
  });

  afterAll(async () => {
    await stopAll();
    await tmp.cleanup();
  });

  async function addRemote(pinned: string): Promise<void> {
    const file = path.join(dir, 'solution.yaml');
    const doc = YAML.parse(await readFile(file, 'utf8')) as { images: Record<string, unknown>[] };
    doc.images = [
      doc.images[0] ?? {},
      { name: 'app', version: '1.0', source: 'quay.io/acme/app', digest: pinned },
    ];
    await writeFile(file, YAML.stringify(doc));
  }

  it('pulls by digest through the Sources and stores shared blobs once', async () => {
    await addRemote(digest);
    const iso = path.join(tmp.path, 'out', 'r.iso');
    await buildSolution({
      dir,
      output: iso,
      workDir: path.join(tmp.path, 'work'),
      sourceDateEpoch: 1700000000,
      allowHostFiles: true,
      sources,
    });
    expect(asked).toContain('quay.io');
    const r = await inspectSolutionIso(iso);
    expect(r.images.map((i) => `${i.name}:${i.tag} ${i.digest}`)).toEqual([
      `app:1.0 ${digest}`,
      `remote-app:1.0.0 ${digest}`,
    ]);
    // Same blobs under two image directories: hard links, stored once in the ISO.
    expect(r.sizes.deduplicated).toBeLessThan(r.sizes.files);
    // No manifest of the skeleton deploys the remote image: verify only warns about it.
    expect(
      (await verifySolutionIso(iso)).problems.map((p) => [p.severity, p.code, p.file]),
    ).toEqual([['warning', 'image-unreferenced', 'images/app/1.0']]);
  });

  it('fails on a digest the registry does not have and leaves no ISO (the previous one is gone)', async () => {
    await addRemote(`sha256:${'0'.repeat(64)}`);
    const out = path.join(tmp.path, 'out');
    expect(await readdir(out)).toContain('r.iso');
    const err = await buildSolution({
      dir,
      output: path.join(out, 'r.iso'),
      workDir: path.join(tmp.path, 'work'),
      sourceDateEpoch: 1700000000,
      allowHostFiles: true,
      sources,
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TaskError);
    expect((err as TaskError).reason).toBe('command-failed');
    expect((await readdir(out)).filter((f) => f.endsWith('.iso') || f === 'SHA256SUM')).toEqual([]);
  });
});
