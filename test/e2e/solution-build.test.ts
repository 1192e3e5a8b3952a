/**
 * Builds the example Solution into an ISO, checks it with independent readers (isoinfo,
 * bsdtar), serves its images with real nginx through the generated registry-config.inc.j2,
 * and pulls them back with skopeo.
 */
import { createHash } from 'node:crypto';
import { chmod, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runSolutionCli } from '../../buildchain/cli/solution.ts';
import {
  buildSolution,
  type BuildSolutionResult,
} from '../../buildchain/tasks/solution/build/build.ts';
import { inspectSolutionIso } from '../../buildchain/tasks/solution/verify/inspect.ts';
import { verifySolutionIso } from '../../buildchain/tasks/solution/verify/verify.ts';
import { missingJinja } from '../helpers/jinja.ts';
import { missingTools } from '../helpers/require-tool.ts';
import { stopAll } from '../helpers/servers.ts';
import { serveSolutionIso } from '../helpers/solution-archive.ts';
import { makeTempDir, type TempDir } from '../helpers/tmp.ts';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const EXAMPLE = path.join(ROOT, 'examples', 'solution-example');
const EPOCH = 1700000000;
const missing = missingTools(
  'buildah',
  'skopeo',
  'xorriso',
  'isoinfo',
  'bsdtar',
  'nginx',
  'busybox',
).concat(missingJinja());

function sha256(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

describe.skipIf(missing.length > 0)('example Solution ISO', () => {
  let tmp: TempDir;
  let iso: string;
  let built: BuildSolutionResult;

  beforeAll(async () => {
    tmp = await makeTempDir('mk8s-solution-e2e-');
    // nginx workers run as nobody: they must traverse the temp dir.
    await chmod(tmp.path, 0o755);
    iso = path.join(tmp.path, 'out', 'example.iso');
    built = await buildSolution({
      dir: EXAMPLE,
      output: iso,
      workDir: path.join(tmp.path, 'work'),
      sourceDateEpoch: EPOCH,
      allowHostFiles: true,
    });
  });

  afterAll(async () => {
    await stopAll();
    await tmp.cleanup();
  });

  it('has the volume id, Rock Ridge, Joliet and full ISO-9660 names (level 3)', async () => {
    const d = (await execa('isoinfo', ['-d', '-i', iso])).stdout;
    expect(d).toMatch(/^Volume id: Example 1\.0\.0-dev$/m);
    expect(d).toContain('Rock Ridge signatures version 1 found');
    expect(d).toContain('Joliet with UCS level 3 found');
    // Without Rock Ridge: names longer than 8.3 (level >= 2), uppercased with a version.
    const plain = (await execa('isoinfo', ['-f', '-i', iso])).stdout;
    expect(plain).toContain('/OPERATOR/DEPLOY/SERVICE_ACCOUNT.YAML;1');
  });

  it('holds the archive layout, owned by uid/gid 0', async () => {
    const listing = (await execa('bsdtar', ['-tvf', iso])).stdout.split('\n');
    const names = listing.map((l) => l.split(/\s+/).slice(8).join(' ')).filter((n) => n !== '.');
    expect(names).toEqual(
      expect.arrayContaining([
        'product.txt',
        'registry-config.inc.j2',
        'images/example-app/1.0.0-dev/manifest.json',
        'images/example-app/1.0.0-dev/version',
        'operator/deploy/crds/instance_crd.yaml',
        'operator/deploy/operator.yaml',
        'operator/deploy/role.yaml',
        'operator/deploy/role_binding.yaml',
        'operator/deploy/service_account.yaml',
        'ui/deployment.yaml',
      ]),
    );
    expect(names.some((n) => n.includes('solution.yaml') || n.includes('Containerfile'))).toBe(
      false,
    );
    for (const l of listing.filter((x) => x.trim() !== ''))
      expect(l.split(/\s+/).slice(2, 4)).toEqual(['0', '0']);
    const product = (await execa('bsdtar', ['-xOf', iso, 'product.txt'])).stdout;
    expect(product).toMatch(
      /^NAME=Example\nVERSION=1\.0\.0-dev\nREQUIRE_METALK8S=">=2\.4\.0"\nARCHIVE_LAYOUT_VERSION=1\nGIT=.*\nBUILD_TIMESTAMP=2023-11-14T22:13:20Z$/,
    );
    const ui = (await execa('bsdtar', ['-xOf', iso, 'ui/deployment.yaml'])).stdout;
    expect(ui).toContain('image: "{{ repository }}/example-app:1.0.0-dev"');
  });

  it('writes SHA256SUM beside the ISO', async () => {
    const sum = await readFile(path.join(path.dirname(iso), 'SHA256SUM'), 'utf8');
    expect(sum).toBe(`${sha256(await readFile(iso))}  example.iso\n`);
    expect(built.sha256).toBe(sha256(await readFile(iso)));
  });

  it('is up to date on rerun and reproducible from scratch', async () => {
    const before = await stat(iso);
    const again = await buildSolution({
      dir: EXAMPLE,
      output: iso,
      workDir: path.join(tmp.path, 'work'),
      sourceDateEpoch: EPOCH,
      allowHostFiles: true,
    });
    expect(again.upToDate).toBe(true);
    expect((await stat(iso)).mtimeMs).toBe(before.mtimeMs);
    const other = path.join(tmp.path, 'out2', 'example.iso');
    const fresh = await buildSolution({
      dir: EXAMPLE,
      output: other,
      workDir: path.join(tmp.path, 'work2'),
      sourceDateEpoch: EPOCH,
      allowHostFiles: true,
    });
    expect(fresh.upToDate).toBe(false);
    expect(fresh.sha256).toBe(built.sha256);
  });

  it('adds manifest.yaml behind the option', async () => {
    const other = path.join(tmp.path, 'out3', 'example.iso');
    await buildSolution({
      dir: EXAMPLE,
      output: other,
      workDir: path.join(tmp.path, 'work2'),
      sourceDateEpoch: EPOCH,
      allowHostFiles: true,
      manifestYaml: true,
    });
    const manifest = (await execa('bsdtar', ['-xOf', other, 'manifest.yaml'])).stdout;
    expect(manifest).toContain('kind: Solution');
    expect(manifest).toContain('- example-app:1.0.0-dev');
  });

  it('serves its images with nginx through registry-config.inc.j2, pulled back by skopeo', async () => {
    const { extract, nginx: ngx } = await serveSolutionIso(iso, tmp.path, 'example-1.0.0-dev');
    const manifest = await readFile(
      path.join(extract, 'images/example-app/1.0.0-dev/manifest.json'),
    );
    const digest = `sha256:${sha256(manifest)}`;
    for (const ref of ['example-app:1.0.0-dev', `example-app@${digest}`]) {
      const dest = path.join(tmp.path, `pulled-${ref.includes('@') ? 'digest' : 'tag'}`);
      await execa('skopeo', [
        'copy',
        '-q',
        '--src-tls-verify=false',
        `docker://${ngx.address}/example-1.0.0-dev/${ref}`,
        `dir:${dest}`,
      ]);
      expect(sha256(await readFile(path.join(dest, 'manifest.json')))).toBe(digest.slice(7));
    }
    const res = await fetch(
      `http://${ngx.address}/v2/example-1.0.0-dev/example-app/manifests/1.0.0-dev`,
    );
    expect(res.headers.get('docker-content-digest')).toBe(digest);
    expect(res.headers.get('content-type')).toBe(
      'application/vnd.docker.distribution.manifest.v2+json',
    );
    await ngx.stop();
  });

  it('verifies and inspects', async () => {
    expect((await verifySolutionIso(iso)).problems).toEqual([]);
    const r = await inspectSolutionIso(iso);
    expect(r.volumeId).toBe('Example 1.0.0-dev');
    expect(r.layoutVersion).toBe('1');
    expect(r.images).toHaveLength(1);
    expect(r.images[0]?.digest).toMatch(/^sha256:[a-f0-9]{64}$/);
    expect(r.operatorFiles).toHaveLength(5);
    expect(r.sizes.deduplicated).toBeLessThanOrEqual(r.sizes.files);
    expect(r.sizes.iso).toBe((await stat(iso)).size);
  });

  it('answers on the command line and through the package bin', async () => {
    const out: string[] = [];
    const io = { out: (t: string) => out.push(t), err: () => undefined };
    expect(await runSolutionCli(['verify', iso], io)).toBe(0);
    expect(await runSolutionCli(['inspect', iso, '--json'], io)).toBe(0);
    expect((JSON.parse(out.at(-1) ?? '{}') as { volumeId?: string }).volumeId).toBe(
      'Example 1.0.0-dev',
    );
    expect(await runSolutionCli(['verify', path.join(tmp.path, 'nope.iso')], io)).toBe(1);
    expect(await runSolutionCli(['verify'], io)).toBe(2);
    const fresh = path.join(tmp.path, 'fresh');
    expect(await runSolutionCli(['init', fresh, '--name', 'Fresh', '--version', '0.1.0'], io)).toBe(
      0,
    );
    expect(await runSolutionCli(['lint', fresh], io)).toBe(0);
    expect(await runSolutionCli(['init', fresh, '--name', 'Fresh', '--version', '0.1.0'], io)).toBe(
      2,
    );
    await writeFile(path.join(fresh, 'ui', 'notes.txt'), 'dropped\n');
    expect(await runSolutionCli(['lint', fresh], io)).toBe(1);
    const bin = await execa(
      'node',
      [path.join(ROOT, 'bin/metalk8s-solution.js'), 'lint', EXAMPLE],
      { reject: false, cwd: tmp.path },
    );
    expect(bin.exitCode).toBe(0);
    // The example's image copies the host's busybox: lint names it (never "no problems found").
    expect(bin.stderr).toContain(
      'warning [host-file] image example-app:1.0.0-dev: hostFiles.busybox',
    );
    expect(bin.stderr).toContain('0 error(s), 1 warning(s)');
  });
});
