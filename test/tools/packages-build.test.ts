/** Real rpmbuild: SRPM → RPM in private topdirs, reproducible, with clear errors. */
import { readFile, writeFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildRpms, buildSrpm, type RpmBuildEnv } from '../../buildchain/tasks/packages/build.ts';
import { execDirect } from '../../buildchain/engine/exec/run-command.ts';
import { localSourceFiles } from '../../buildchain/tasks/packages/spec-sources.ts';
import { missingTools } from '../helpers/require-tool.ts';
import { makeTempDir, type TempDir } from '../helpers/tmp.ts';
import { makeGpgKey } from '../helpers/gpg.ts';
import { noarchSpec } from './packages-fixtures.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');

describe.skipIf(missingTools('rpmbuild', 'rpmspec', 'rpm', 'rpmsign', 'gpg').length > 0)(
  'packages: rpmbuild',
  () => {
    let tmp: TempDir;
    const env = (epoch: number): RpmBuildEnv => ({
      exec: execDirect,
      builder: { builder: 'local' },
      epoch,
      defines: { dist: '.el7', short_version: '2.4' },
    });

    beforeAll(async () => {
      tmp = await makeTempDir('mk8s-pkg-build-');
    });
    afterAll(async () => {
      await tmp.cleanup();
    });

    async function writeSpecDir(name: string, extraSource?: string): Promise<string> {
      const dir = path.join(tmp.path, 'specs', name);
      await mkdir(dir, { recursive: true });
      let spec = noarchSpec({ name, version: '1.0', requires: ['bash'] });
      if (extraSource !== undefined)
        spec = spec.replace('BuildArch:', `Source0: ${extraSource}\nBuildArch:`);
      await writeFile(path.join(dir, `${name}.spec`), spec);
      return dir;
    }

    // Same paths both times, as a rebuild in the same BUILD_ROOT (the spec's scripts embed them).
    async function buildTwice(name: string, specDir: string, sources: string[], out: string) {
      const results: Buffer[][] = [];
      for (let run = 0; run < 2; run++) {
        const srpm = path.join(out, `${name}.src.rpm`);
        await buildSrpm({
          ...env(1_700_000_000),
          name,
          specFile: path.join(specDir, `${name}.spec`),
          sourceFiles: sources,
          topdir: path.join(out, 'top-srpm'),
          out: srpm,
        });
        const built = await buildRpms({
          ...env(1_700_000_000),
          name,
          srpm,
          topdir: path.join(out, 'top-rpm'),
          outDir: path.join(out, 'rpm'),
          manifest: path.join(out, 'rpm.json'),
          depsFile: path.join(out, 'rpm.deps.json'),
        });
        results.push([
          await readFile(srpm),
          ...(await Promise.all(built.map((b) => readFile(path.join(out, 'rpm', b.path))))),
        ]);
      }
      return results;
    }

    it('builds a small noarch spec twice, byte-identical (SRPM and RPM)', async () => {
      const dir = await writeSpecDir('repro-test');
      const [a, b] = await buildTwice('repro-test', dir, [], path.join(tmp.path, 'repro'));
      expect(a?.length).toBe(2);
      expect(Buffer.compare(a?.[0] ?? Buffer.alloc(0), b?.[0] ?? Buffer.alloc(1))).toBe(0);
      expect(Buffer.compare(a?.[1] ?? Buffer.alloc(0), b?.[1] ?? Buffer.alloc(1))).toBe(0);
      const manifest = JSON.parse(
        await readFile(path.join(tmp.path, 'repro', 'rpm.json'), 'utf8'),
      ) as { rpms: { path: string }[] };
      expect(manifest.rpms.map((r) => r.path)).toEqual(['noarch/repro-test-1.0-1.el7.noarch.rpm']);
      const q = await execDirect([
        'rpm',
        '-qp',
        '--qf',
        '%{BUILDTIME} %{BUILDHOST}',
        path.join(tmp.path, 'repro', 'rpm', 'noarch', 'repro-test-1.0-1.el7.noarch.rpm'),
      ]);
      expect(q.stdout).toBe('1700000000 reproducible');
    });

    it('builds the real metalk8s-sosreport spec with its local sources', async () => {
      const specDir = path.join(ROOT, 'packages-specs', 'metalk8s-sosreport');
      const out = path.join(tmp.path, 'sos');
      const srpm = path.join(out, 'metalk8s-sosreport.src.rpm');
      await buildSrpm({
        ...env(1_600_000_000),
        name: 'metalk8s-sosreport',
        specFile: path.join(specDir, 'metalk8s-sosreport.spec'),
        sourceFiles: localSourceFiles(specDir, 'metalk8s-sosreport'),
        topdir: path.join(out, 'top-srpm'),
        out: srpm,
      });
      const built = await buildRpms({
        ...env(1_600_000_000),
        name: 'metalk8s-sosreport',
        srpm,
        topdir: path.join(out, 'top-rpm'),
        outDir: path.join(out, 'rpm'),
        manifest: path.join(out, 'rpm.json'),
        depsFile: path.join(out, 'rpm.deps.json'),
      });
      expect(built.map((b) => b.path)).toEqual(['noarch/metalk8s-sosreport-2.4-1.el7.noarch.rpm']);
      // What the download must resolve from the repos (rpmbuild's Python generator adds the abi).
      expect(JSON.parse(await readFile(path.join(out, 'rpm.deps.json'), 'utf8'))).toEqual({
        package: 'metalk8s-sosreport',
        requires: ['python(abi) = 2.7', 'sos >= 3.5'],
        provides: ['metalk8s-sosreport'],
      });
      const files = await execDirect(['rpm', '-qlp', path.join(out, 'rpm', built[0]?.path ?? '')]);
      expect(files.stdout.split('\n')).toContain(
        '/usr/lib/python2.7/site-packages/sos/plugins/metalk8s.py',
      );
    });

    it('fails naming the missing source and where to add it', async () => {
      const dir = await writeSpecDir('needs-src', 'https://example.invalid/dl/needed.tar.gz');
      const err = await buildSrpm({
        ...env(1),
        name: 'needs-src',
        specFile: path.join(dir, 'needs-src.spec'),
        sourceFiles: [],
        topdir: path.join(tmp.path, 'ns'),
        out: path.join(tmp.path, 'ns.src.rpm'),
      }).catch((e: unknown) => e);
      expect(err).toMatchObject({ reason: 'invalid-input' });
      expect((err as Error).message).toContain('needed.tar.gz');
      expect((err as { hint?: string }).hint).toContain('sources.yaml');
    });

    it('signs built RPMs with RPM_SIGN_KEY (rpmsign with the __gpg fix)', async () => {
      const key = await makeGpgKey(path.join(tmp.path, 'key'));
      try {
        const dir = await writeSpecDir('signed-test');
        const out = path.join(tmp.path, 'signed');
        const srpm = path.join(out, 'x.src.rpm');
        await buildSrpm({
          ...env(1_700_000_000),
          name: 'signed-test',
          specFile: path.join(dir, 'signed-test.spec'),
          sourceFiles: [],
          topdir: path.join(out, 't1'),
          out: srpm,
        });
        const built = await buildRpms({
          ...env(1_700_000_000),
          name: 'signed-test',
          srpm,
          topdir: path.join(out, 't2'),
          outDir: path.join(out, 'rpm'),
          depsFile: path.join(out, 'rpm.deps.json'),
          manifest: path.join(out, 'rpm.json'),
          sign: { keyName: key.keyName, gnupgHome: key.home },
        });
        const db = path.join(out, 'db');
        await mkdir(db);
        await execDirect(['rpm', '--dbpath', db, '--import', key.publicKey]);
        const k = await execDirect(
          ['rpm', '--dbpath', db, '-K', path.join(out, 'rpm', built[0]?.path ?? '')],
          { env: { LC_ALL: 'C' } },
        );
        expect(k.stdout).toContain('digests signatures OK');
      } finally {
        await key.stop();
      }
    });
  },
);
