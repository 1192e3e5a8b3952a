/**
 * Multi-arch images in a Solution (`platforms:`): a local three-platform OCI index (written by
 * hand, no network) is pushed to a loopback docker-registry and pulled through the Sources;
 * the build keeps exactly the chosen instances, the ISO's registry include (rendered as
 * MetalK8s renders it, served by real nginx) serves the list as the tag's manifest, and each
 * platform is pulled back with skopeo and with containerd's ctr. A platform the index lacks is
 * a clear build error; a platform missing from an ISO's list is a verify error.
 */
import { chmod, cp, mkdir, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import YAML from 'yaml';
import type { ImageEntry } from '../../buildchain/config/content-types.ts';
import { TaskError } from '../../buildchain/engine/task.ts';
import { sha256Hex } from '../../buildchain/lib/fs/hash.ts';
import type { Sources } from '../../buildchain/sources/sources.ts';
import { buildSolution } from '../../buildchain/tasks/solution/build/build.ts';
import { MANIFEST_LIST_V2 } from '../../buildchain/tasks/solution/build/registry-config.ts';
import { writeSolutionIso } from '../../buildchain/tasks/solution/build/write-solution-iso.ts';
import { initSolution } from '../../buildchain/tasks/solution/init/init.ts';
import { lintSolution } from '../../buildchain/tasks/solution/lint/lint.ts';
import {
  formatInspectReport,
  inspectSolutionIso,
} from '../../buildchain/tasks/solution/verify/inspect.ts';
import { verifySolutionIso } from '../../buildchain/tasks/solution/verify/verify.ts';
import { startTestContainerd } from '../helpers/containerd.ts';
import { missingJinja } from '../helpers/jinja.ts';
import { missingTools } from '../helpers/require-tool.ts';
import { startTestRegistry, stopAll } from '../helpers/servers.ts';
import { serveSolutionIso } from '../helpers/solution-archive.ts';
import { makeTempDir, type TempDir } from '../helpers/tmp.ts';
import { pushImage, writeOciLayout } from './images-fixtures.ts';

const missing = missingTools(
  'buildah',
  'skopeo',
  'xorriso',
  'isoinfo',
  'bsdtar',
  'docker-registry',
  'nginx',
  'containerd',
  'ctr',
  'busybox',
).concat(missingJinja());
const EPOCH = 1700000000;
const PREFIX = 'multi-1.0.0';

/** Sources reaching one loopback registry (under `mirror/`) for every upstream host. */
function loopbackSources(address: string): Sources {
  return {
    kind: 'site',
    lockDir: '',
    describe: () => `site (${address})`,
    registry: () => Promise.resolve({ host: address, pathPrefix: 'mirror', insecure: true }),
    imageDigest: (image: ImageEntry) => Promise.resolve(image.digest),
    repoUrl: (url: string) => Promise.resolve(url),
    stop: () => Promise.resolve(),
  };
}

/** `severity:code first-word-of-the-file's-image-dir` of each problem. */
function codes(problems: readonly { severity: string; code: string; file: string }[]): string[] {
  return problems.map((p) => `${p.severity}:${p.code} ${p.file.split('/')[1] ?? p.file}`);
}

describe.skipIf(missing.length > 0)('Solution with multi-arch images (platforms)', () => {
  let tmp: TempDir;
  let dir: string;
  let index: string;
  let single: string;
  let sources: Sources;
  let iso: string;
  const work = (): string => path.join(tmp.path, 'work');

  async function setImages(extra: Record<string, unknown>[]): Promise<void> {
    const file = path.join(dir, 'solution.yaml');
    const doc = YAML.parse(await readFile(file, 'utf8')) as { images: Record<string, unknown>[] };
    doc.images = [doc.images[0] ?? {}, ...extra];
    await writeFile(file, YAML.stringify(doc));
  }

  beforeAll(async () => {
    tmp = await makeTempDir('mk8s-solution-platforms-');
    await chmod(tmp.path, 0o755); // nginx workers (nobody) read the extracted ISO
    const layout = path.join(tmp.path, 'oci');
    await writeOciLayout(layout, [
      {
        ref: 'multi',
        layers: [[{ name: 'etc/multi', data: Buffer.from('multi\n') }]],
        architectures: ['amd64', 'arm64', 'ppc64le'],
      },
      { ref: 'single', layers: [[{ name: 'etc/single', data: Buffer.from('single\n') }]] },
    ]);
    const reg = await startTestRegistry({ dir: path.join(tmp.path, 'registry') });
    index = pushImage(layout, 'multi', `${reg.address}/mirror/acme/multi:1.0`, { all: true });
    single = pushImage(layout, 'single', `${reg.address}/mirror/acme/single:1.0`);
    sources = loopbackSources(reg.address);
    dir = path.join(tmp.path, 'sol');
    await initSolution(dir, { name: 'Multi', version: '1.0.0' });
    await setImages([
      {
        name: 'multi',
        version: '1.0',
        source: 'quay.io/acme/multi',
        digest: index,
        platforms: ['linux/amd64', 'linux/arm64'],
      },
      {
        name: 'multi-all',
        version: '1.0',
        source: 'quay.io/acme/multi',
        digest: index,
        platforms: 'all',
      },
    ]);
    iso = path.join(tmp.path, 'out', 'multi.iso');
    await buildSolution({
      dir,
      output: iso,
      workDir: work(),
      sourceDateEpoch: EPOCH,
      allowHostFiles: true,
      sources,
    });
  });

  afterAll(async () => {
    await stopAll();
    await tmp.cleanup();
  });

  it('keeps exactly the chosen instances, the list as the tag manifest', async () => {
    const layout = path.join(work(), 'images', 'multi', '1.0');
    const list = JSON.parse(await readFile(path.join(layout, 'manifest.json'), 'utf8')) as {
      mediaType: string;
      manifests: { digest: string; platform: { architecture: string } }[];
    };
    expect(list.mediaType).toBe(MANIFEST_LIST_V2);
    expect(list.manifests.map((m) => m.platform.architecture)).toEqual(['amd64', 'arm64']);
    const files = await readdir(layout);
    expect(files.filter((f) => f.endsWith('.manifest.json')).sort()).toEqual(
      list.manifests.map((m) => `${m.digest.slice(7)}.manifest.json`).sort(),
    );
    // Blobs: one shared layer and the two configs, no ppc64le config.
    expect(files.filter((f) => /^[a-f0-9]{64}$/.test(f))).toHaveLength(3);
    const all = JSON.parse(
      await readFile(path.join(work(), 'images', 'multi-all', '1.0', 'manifest.json'), 'utf8'),
    ) as { manifests: { platform: { architecture: string } }[] };
    expect(all.manifests.map((m) => m.platform.architecture)).toEqual([
      'amd64',
      'arm64',
      'ppc64le',
    ]);
  });

  it('verifies (every instance and blob) and inspect lists the platforms', async () => {
    // No manifest of this test Solution deploys the remote images: warnings only.
    expect(codes((await verifySolutionIso(iso)).problems).sort()).toEqual([
      'warning:image-unreferenced multi',
      'warning:image-unreferenced multi-all',
    ]);
    const r = await inspectSolutionIso(iso);
    const byName = new Map(r.images.map((i) => [i.name, i]));
    expect(byName.get('multi')?.platforms).toEqual(['linux/amd64', 'linux/arm64']);
    expect(byName.get('multi-all')?.platforms).toEqual([
      'linux/amd64',
      'linux/arm64',
      'linux/ppc64le',
    ]);
    expect(formatInspectReport(r)).toMatch(/multi:1\.0 .*\[linux\/amd64, linux\/arm64\]/);
  });

  it('is served by nginx through the include: each platform pulls with skopeo and ctr', async () => {
    const { extract, nginx: ngx } = await serveSolutionIso(iso, tmp.path, PREFIX);
    const listBytes = await readFile(path.join(extract, 'images/multi/1.0/manifest.json'));
    const res = await fetch(`http://${ngx.address}/v2/${PREFIX}/multi/manifests/1.0`);
    expect(res.headers.get('content-type')).toBe(MANIFEST_LIST_V2);
    expect(res.headers.get('docker-content-digest')).toBe(`sha256:${sha256Hex(listBytes)}`);
    expect(Buffer.from(await res.arrayBuffer()).equals(listBytes)).toBe(true);

    const ref = (name: string): string => `docker://${ngx.address}/${PREFIX}/${name}:1.0`;
    const archOf = async (dest: string): Promise<string> => {
      const m = JSON.parse(await readFile(path.join(dest, 'manifest.json'), 'utf8')) as {
        config: { digest: string };
      };
      const c = JSON.parse(await readFile(path.join(dest, m.config.digest.slice(7)), 'utf8')) as {
        architecture: string;
      };
      return c.architecture;
    };
    for (const arch of ['amd64', 'arm64']) {
      const dest = path.join(tmp.path, `pulled-${arch}`);
      await execa('skopeo', [
        '--override-arch',
        arch,
        'copy',
        '-q',
        '--src-tls-verify=false',
        ref('multi'),
        `dir:${dest}`,
      ]);
      expect(await archOf(dest)).toBe(arch);
    }
    // Not kept: ppc64le is not served from `multi`, but is from `multi-all`.
    const ppc = (name: string): Promise<{ exitCode?: number }> =>
      execa(
        'skopeo',
        [
          '--override-arch',
          'ppc64le',
          'copy',
          '-q',
          '--src-tls-verify=false',
          ref(name),
          `dir:${path.join(tmp.path, `ppc-${name}`)}`,
        ],
        { reject: false },
      );
    expect((await ppc('multi')).exitCode).not.toBe(0);
    expect((await ppc('multi-all')).exitCode).toBe(0);
    // The whole list, every instance by digest.
    const whole = path.join(tmp.path, 'pulled-all');
    await execa('skopeo', [
      'copy',
      '-q',
      '--all',
      '--src-tls-verify=false',
      ref('multi'),
      `dir:${whole}`,
    ]);
    expect((await readdir(whole)).filter((f) => f.endsWith('.manifest.json'))).toHaveLength(2);

    // containerd: resolve the tag (HEAD), the list and the arm64 instance by digest, its blobs.
    const ctd = await startTestContainerd(path.join(tmp.path, 'ctd'));
    try {
      const ctr = async (...args: string[]): Promise<{ stdout: string }> => ({
        stdout: await ctd.ctr(['--namespace', 'mk8s-test', ...args]),
      });
      for (const arch of ['arm64', 'amd64']) {
        await ctr(
          'content',
          'fetch',
          '--plain-http',
          '--platform',
          `linux/${arch}`,
          `${ngx.address}/${PREFIX}/multi:1.0`,
        );
      }
      const list = JSON.parse(listBytes.toString('utf8')) as { manifests: { digest: string }[] };
      const stored = (await ctr('content', 'ls', '-q')).stdout.split('\n');
      for (const m of list.manifests) expect(stored).toContain(m.digest);
      expect(stored).toContain(`sha256:${sha256Hex(listBytes)}`);
    } finally {
      await ctd.stop();
    }
    await ngx.stop();
  });

  it('a platform the source index lacks is a clear build error, and no ISO is left', async () => {
    await setImages([
      {
        name: 'multi',
        version: '1.0',
        source: 'quay.io/acme/multi',
        digest: index,
        platforms: ['linux/amd64', 'linux/s390x'],
      },
    ]);
    const out = path.join(tmp.path, 'missing', 'm.iso');
    await mkdir(path.dirname(out));
    const err = await buildSolution({
      dir,
      output: out,
      workDir: path.join(tmp.path, 'work-missing'),
      sourceDateEpoch: EPOCH,
      allowHostFiles: true,
      sources,
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TaskError);
    expect((err as TaskError).reason).toBe('invalid-input');
    expect((err as TaskError).message).toBe(
      'image multi:1.0: platform linux/s390x is not in the source index (it has linux/amd64, linux/arm64, linux/ppc64le)',
    );
    expect((err as TaskError).hint).toContain('remove it from platforms');
    expect(await readdir(path.dirname(out))).toEqual([]);
  });

  it('platforms of a single-platform source: its own is accepted, another is an error', async () => {
    const entry = (platforms: string[]): Record<string, unknown> => ({
      name: 'single',
      version: '1.0',
      source: 'quay.io/acme/single',
      digest: single,
      platforms,
    });
    const opts = (out: string) => ({
      dir,
      output: out,
      workDir: path.join(tmp.path, 'work-single'),
      sourceDateEpoch: EPOCH,
      allowHostFiles: true,
      sources,
    });
    await setImages([entry(['linux/arm64'])]);
    await mkdir(path.join(tmp.path, 'single'));
    const err = await buildSolution(opts(path.join(tmp.path, 'single', 's.iso'))).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(TaskError);
    expect((err as TaskError).message).toBe(
      'image single:1.0: the source is a single linux/amd64 image, not an index: platforms linux/arm64 cannot be kept',
    );
    await setImages([entry(['linux/amd64'])]);
    const ok = await buildSolution(opts(path.join(tmp.path, 'single', 's.iso')));
    const r = await inspectSolutionIso(ok.iso);
    expect(r.images.find((i) => i.name === 'single')?.platforms).toEqual([]);
    expect(codes((await verifySolutionIso(ok.iso)).problems)).toEqual([
      'warning:image-unreferenced single',
    ]);
  });

  it('lint refuses platforms on a local image and malformed platforms', async () => {
    const file = path.join(dir, 'solution.yaml');
    const doc = YAML.parse(await readFile(file, 'utf8')) as { images: Record<string, unknown>[] };
    const local = { ...doc.images[0], platforms: ['linux/arm64'] };
    const remote = (platforms: unknown, name: string): Record<string, unknown> => ({
      name,
      version: '1.0',
      source: 'quay.io/acme/multi',
      digest: index,
      platforms,
    });
    doc.images = [
      local,
      remote('linux/amd64', 'a'),
      remote(['linux'], 'b'),
      remote(['linux/arm64', 'linux/arm64'], 'c'),
      remote([], 'd'),
    ];
    await writeFile(file, YAML.stringify(doc));
    const r = await lintSolution(dir);
    const msgs = r.problems.filter((p) => p.code === 'image-platforms').map((p) => p.message);
    expect(msgs).toEqual([
      'image multi-app: platforms applies to remote images only: a local build makes one linux/amd64 image',
      'image a: platforms "linux/amd64" is neither "all" nor a non-empty list',
      'image b: platforms entry "linux" is not os/architecture[/variant]',
      'image c: platforms lists linux/arm64 twice',
      'image d: platforms [] is neither "all" nor a non-empty list',
    ]);
    expect(r.problems.every((p) => p.code !== 'image-platforms' || p.severity === 'error')).toBe(
      true,
    );
  });

  it('verify: a platform the list names but the ISO lacks is an error', async () => {
    const root = path.join(tmp.path, 'tampered-root');
    await cp(path.join(work(), 'root'), root, { recursive: true });
    const dirOf = path.join(root, 'images', 'multi', '1.0');
    const list = JSON.parse(await readFile(path.join(dirOf, 'manifest.json'), 'utf8')) as {
      manifests: { digest: string }[];
    };
    const arm = list.manifests[1]?.digest.slice(7) ?? '';
    await rm(path.join(dirOf, `${arm}.manifest.json`));
    const out = path.join(tmp.path, 'tampered', 't.iso');
    await writeSolutionIso({
      root,
      output: out,
      volumeId: 'Multi 1.0.0',
      epoch: EPOCH,
      xorriso: 'xorriso',
    });
    const r = await verifySolutionIso(out);
    const missingPlatform = r.problems.filter((p) => p.code === 'platform-missing');
    expect(missingPlatform).toHaveLength(1);
    expect(missingPlatform[0]?.message).toBe(
      `image multi:1.0: the index lists linux/arm64 (sha256:${arm}) but its manifest is not on the ISO`,
    );
    expect(missingPlatform[0]?.severity).toBe('error');
  });
});
