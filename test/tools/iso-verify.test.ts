import { appendFile, mkdir, open, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyIso } from '../../buildchain/tasks/iso/verify.ts';
import { formatProblem } from '../../buildchain/lib/problem.ts';
import type { CheckReport } from '../../buildchain/tasks/iso/verify-tree.ts';

/** The report's problems as the text the task prints (`subject: message`). */
const texts = (report: CheckReport): string[] => report.problems.map((p) => formatProblem(p));
import { writeIso } from '../../buildchain/media/iso/write-iso.ts';
import { missingTools } from '../helpers/require-tool.ts';
import { makeTempDir, type TempDir } from '../helpers/tmp.ts';
import {
  writeDockerArchive,
  writeImageLayout,
  writeLayout,
  writeListLayout,
  writeRepo,
} from './iso-fixtures.ts';
import { generateRegistryConfig } from '../../buildchain/tasks/images/nginx-registry-config.ts';
import { scanImagesDir } from '../../buildchain/tasks/images/registry-scan.ts';
import { registryNaming } from '../../buildchain/tasks/images/write-registry-config.ts';

const missing = missingTools(
  'xorriso',
  'isoinfo',
  'bsdtar',
  'checkisomd5',
  'rpmbuild',
  'createrepo_c',
);

describe.skipIf(missing.length > 0)('verifyIso', () => {
  let tmp: TempDir;
  let root: string;
  let rpm: string;
  let layer: string;
  const build = async (name: string): Promise<string> => {
    const iso = path.join(tmp.path, name, 'metalk8s.iso');
    const { mkdir } = await import('node:fs/promises');
    await mkdir(path.dirname(iso), { recursive: true });
    await writeIso({ root, output: iso, volumeId: 'MetalK8s 2.4.0-beta1', epoch: 1700000000 });
    return iso;
  };

  beforeAll(async () => {
    tmp = await makeTempDir('iso-verify-');
    root = path.join(tmp.path, 'root');
    await writeLayout(root);
    layer = await writeImageLayout(root, 'tiny', '1.0');
    rpm = await writeRepo(tmp.path, path.join(root, 'packages/redhat/metalk8s-scality-el7'));
    await writeFile(
      path.join(root, 'salt/metalk8s/registry.inc'),
      'location ~ "^/v2/metalk8s-2.4.0-beta1/tiny/manifests/1.0$" { try_files $x/tiny/1.0/manifest.json =404; }\n',
    );
  });
  afterAll(async () => {
    await tmp.cleanup();
  });

  it('passes on a sound ISO and says what it checked', async () => {
    const iso = await build('ok');
    const report = await verifyIso({ iso, expectName: 'MetalK8s' });
    expect(report.problems).toEqual([]);
    expect(report.checked.join('\n')).toMatch(
      /implanted md5.*PASS[\s\S]*SHA256SUM matches[\s\S]*1 layouts[\s\S]*1 repos, 1 RPMs/,
    );
  });

  it('catches one tampered byte (implanted md5 and SHA256SUM)', async () => {
    const iso = await build('tampered');
    const data = await readFile(iso);
    const at = data.indexOf('# bootstrap.sh');
    expect(at).toBeGreaterThan(0);
    const fh = await open(iso, 'r+');
    await fh.write(Buffer.from('X'), 0, 1, at + 2);
    await fh.close();
    const report = await verifyIso({ iso });
    expect(texts(report)).toContain('implanted md5: checkisomd5 says FAIL');
    expect(report.problems).toContainEqual({
      kind: 'digest-mismatch',
      subject: 'implanted md5',
      message: 'checkisomd5 says FAIL',
      severity: 'error',
    });
    expect(texts(report).some((p) => p.startsWith('SHA256SUM: metalk8s.iso does not match'))).toBe(
      true,
    );
  });

  it('catches a corrupted image blob, an RPM not matching repodata and a missing image', async () => {
    const goodLayer = await readFile(layer);
    const goodRpm = await readFile(rpm);
    try {
      await writeFile(layer, Buffer.concat([goodLayer, Buffer.from('x')]));
      await writeFile(rpm, Buffer.concat([goodRpm, Buffer.from('x')]));
      await writeFile(
        path.join(root, 'salt/metalk8s/other.inc'),
        'location /v2/ { try_files gone/2.0/manifest.json; }\n',
      );
      const report = await verifyIso({ iso: await build('corrupt') });
      expect(texts(report)).toEqual(
        expect.arrayContaining([
          expect.stringMatching(/^image tiny:1.0: blob [a-f0-9]{64} has sha256/),
          'repo packages/redhat/metalk8s-scality-el7: noarch/tiny-1.0-1.noarch.rpm checksum mismatch',
          'registry config salt/metalk8s/other.inc: image gone:2.0 is not on the ISO',
        ]),
      );
    } finally {
      await writeFile(layer, goodLayer);
      await writeFile(rpm, goodRpm);
    }
  });

  it('reports a missing SHA256SUM, layout entry and product mismatch', async () => {
    const iso = await build('other');
    const { rm } = await import('node:fs/promises');
    await rm(path.join(path.dirname(iso), 'SHA256SUM'));
    const report = await verifyIso({
      iso,
      expectName: 'Other',
      layout: ['product.txt', 'nope.sh'],
    });
    expect(texts(report)).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^SHA256SUM: .* not found$/),
        'layout: nope.sh is missing',
        'product.txt: NAME=MetalK8s, expected Other',
      ]),
    );
  });
});

describe.skipIf(missing.length > 0 || missingTools('skopeo').length > 0)(
  'verifyIso on every image layout: single, platforms: all, archive',
  () => {
    let tmp: TempDir;
    let root: string;
    let list: { instances: string[]; blobs: string[] };
    let archive: string;
    let n = 0;
    const include = (): string => path.join(root, 'salt/metalk8s/repo/files/metalk8s-registry.inc');
    const common = (): string =>
      path.join(root, 'salt/metalk8s/repo/files/metalk8s-registry-common.inc');
    /** Builds an ISO of the current root and returns the problems verify finds. */
    const verifyRoot = async (): Promise<string[]> => {
      const iso = path.join(tmp.path, `iso-${String(n++)}`, 'metalk8s.iso');
      await mkdir(path.dirname(iso), { recursive: true });
      await writeIso({ root, output: iso, volumeId: 'MetalK8s 2.4.0-beta1', epoch: 1700000000 });
      return texts(await verifyIso({ iso }));
    };
    /** Runs `change`, verifies, then puts the files back as they were. */
    const tampered = async (files: string[], change: () => Promise<void>): Promise<string[]> => {
      const saved = await Promise.all(files.map((f) => readFile(f)));
      try {
        await change();
        return await verifyRoot();
      } finally {
        await Promise.all(files.map((f, i) => writeFile(f, saved[i] ?? '')));
      }
    };

    beforeAll(async () => {
      tmp = await makeTempDir('iso-verify-list-');
      root = path.join(tmp.path, 'root');
      await writeLayout(root);
      await writeImageLayout(root, 'tiny', '1.0');
      list = await writeListLayout(root, 'multi', '1.0');
      archive = await writeDockerArchive(
        root,
        'salt/metalk8s/container-engine/containerd/files/pause-3.1.tar',
        'archived layer\n',
      );
      // The includes as images:registry-config writes them (same generator, same naming).
      const naming = registryNaming('MetalK8s', '2.4.0-beta1');
      const scan = await scanImagesDir(path.join(root, 'images'));
      expect(scan.warnings).toEqual([]);
      await mkdir(path.dirname(include()), { recursive: true });
      await writeFile(
        include(),
        generateRegistryConfig({ repos: scan.repos, ...naming, constants: 'omit' }),
      );
      await writeFile(
        common(),
        generateRegistryConfig({ repos: [], serverRoot: naming.serverRoot, constants: 'only' }),
      );
    });
    afterAll(async () => {
      await tmp.cleanup();
    });

    it('accepts them: list, <hex>.manifest.json per platform, their blobs; a docker-archive', async () => {
      const iso = path.join(tmp.path, 'sound', 'metalk8s.iso');
      await mkdir(path.dirname(iso), { recursive: true });
      await writeIso({ root, output: iso, volumeId: 'MetalK8s 2.4.0-beta1', epoch: 1700000000 });
      const report = await verifyIso({ iso });
      expect(texts(report)).toEqual([]);
      expect(report.checked.join('\n')).toContain('images: 2 layouts');
      expect(report.checked.join('\n')).toContain('image archives: 1 docker-archive tars');
    });

    it('rejects an altered layer of a docker-archive', async () => {
      const problems = await tampered([archive], async () => {
        const bytes = await readFile(archive);
        const at = bytes.indexOf('archived layer');
        expect(at).toBeGreaterThan(0);
        bytes[at] = 'A'.charCodeAt(0);
        await writeFile(archive, bytes);
      });
      expect(
        problems.some((p) =>
          /^archive salt\/metalk8s\/container-engine\/containerd\/files\/pause-3\.1\.tar: [a-f0-9]{64}\.tar has sha256 [a-f0-9]{64}$/.test(
            p,
          ),
        ),
      ).toBe(true);
    });

    it('rejects a missing or altered platform manifest and a corrupted platform blob', async () => {
      const [inst, other] = list.instances;
      const [blob] = list.blobs;
      if (inst === undefined || other === undefined || blob === undefined)
        throw new Error('fixture');
      const hex = path.basename(inst).slice(0, 64);
      expect(await tampered([inst], () => rm(inst))).toContain(
        `image multi:1.0: platform manifest ${hex}.manifest.json is missing`,
      );
      const altered = await tampered([other], () => appendFile(other, ' '));
      expect(
        altered.some((p) =>
          p.startsWith(`image multi:1.0: platform manifest ${path.basename(other)} has sha256`),
        ),
      ).toBe(true);
      const corrupt = await tampered([blob], () => appendFile(blob, 'x'));
      expect(corrupt.some((p) => /^image multi:1\.0: blob [a-f0-9]{64} has sha256/.test(p))).toBe(
        true,
      );
    });

    it('rejects registry files a 2.4 node needs when missing, or a common include lacking a named location', async () => {
      const template = path.join(root, 'salt/metalk8s/repo/files/metalk8s-registry-config.inc.j2');
      expect(await tampered([template], () => rm(template))).toContain(
        'layout: salt/metalk8s/repo/files/metalk8s-registry-config.inc.j2 is missing',
      );
      const noCommon = await tampered([common()], () => writeFile(common(), '# no locations\n'));
      expect(noCommon).toContain(
        'registry config salt/metalk8s/repo/files/metalk8s-registry.inc: uses the named location @registry_blob_unknown, which no shipped include defines (nginx would answer 500 instead of 404)',
      );
    });

    it('rejects a list manifest.json that is not what the registry include announces', async () => {
      const file = path.join(root, 'images/multi/1.0/manifest.json');
      const problems = await tampered([file], async () => {
        const json = JSON.parse(await readFile(file, 'utf8')) as unknown;
        await writeFile(file, JSON.stringify(json, null, 2));
      });
      expect(
        problems.some((p) =>
          /^registry config salt\/metalk8s\/repo\/files\/metalk8s-registry\.inc: serves multi\/1\.0\/manifest\.json as sha256:[a-f0-9]{64}, but its sha256 is [a-f0-9]{64}$/.test(
            p,
          ),
        ),
      ).toBe(true);
    });
  },
);
