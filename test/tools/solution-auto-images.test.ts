/**
 * `images: auto` and `--images-auto`: the image list of a Solution taken from its manifests
 * (lint/image-refs.ts), built with buildah from images/<name>/, shipped and verified.
 */
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { buildSolution } from '../../buildchain/tasks/solution/build/build.ts';
import { initSolution } from '../../buildchain/tasks/solution/init/init.ts';
import { lintSolution } from '../../buildchain/tasks/solution/lint/lint.ts';
import { inspectSolutionIso } from '../../buildchain/tasks/solution/verify/inspect.ts';
import { verifySolutionIso } from '../../buildchain/tasks/solution/verify/verify.ts';
import { missingTools } from '../helpers/require-tool.ts';
import { runSolutionInProcess } from '../helpers/cli-in-process.ts';
import { makeTempDir, type TempDir } from '../helpers/tmp.ts';

const missing = missingTools('buildah', 'skopeo', 'xorriso', 'isoinfo');

describe.skipIf(missing.length > 0)('images: auto', () => {
  let tmp: TempDir;
  let dir: string;
  const config = (): string => path.join(dir, 'solution.yaml');

  beforeAll(async () => {
    tmp = await makeTempDir('mk8s-solution-auto-');
    dir = path.join(tmp.path, 'sol');
    await initSolution(dir, { name: 'Auto', version: '1.0.0' });
    // A context that needs no host file: auto images take no build options.
    const context = path.join(dir, 'images', 'auto-app');
    await writeFile(
      path.join(context, 'Containerfile'),
      'FROM scratch\nCOPY index.html /www/index.html\n',
    );
    const doc = YAML.parse(await readFile(config(), 'utf8')) as Record<string, unknown>;
    doc.images = 'auto';
    await writeFile(config(), YAML.stringify(doc));
  });

  afterAll(async () => {
    await tmp.cleanup();
  });

  it('lint takes the image from the manifests (no image-not-packaged), build ships it', async () => {
    const r = await lintSolution(dir);
    expect(r.problems.filter((p) => p.severity === 'error')).toEqual([]);
    expect(r.config?.images.map((i) => `${i.name}:${i.version} ${i.build?.context ?? ''}`)).toEqual(
      ['auto-app:1.0.0 images/auto-app'],
    );
    const iso = path.join(tmp.path, 'out', 'auto.iso');
    await mkdir(path.dirname(iso));
    await buildSolution({
      dir,
      output: iso,
      workDir: path.join(tmp.path, 'work'),
      sourceDateEpoch: 1700000000,
    });
    expect((await inspectSolutionIso(iso)).images.map((i) => `${i.name}:${i.tag}`)).toEqual([
      'auto-app:1.0.0',
    ]);
    expect((await verifySolutionIso(iso)).problems).toEqual([]);
  });

  it('a referenced image without a Containerfile is an image-auto error (lint and build: exit 1)', async () => {
    const op = path.join(dir, 'operator', 'deploy', 'operator.yaml');
    const text = await readFile(op, 'utf8');
    await writeFile(op, text.replace(/auto-app:1\.0\.0/, 'auto-operator:1.0.0'));
    try {
      const r = await runSolutionInProcess(['lint', dir]);
      expect(r.code).toBe(1);
      expect(r.err).toMatch(
        /operator\/deploy\/operator\.yaml: error \[image-auto\] .*image auto-operator:1\.0\.0 is referenced, but images\/auto-operator\/ has no Containerfile to build it from/,
      );
      expect(r.err).toContain(
        'fix: add images/auto-operator/Containerfile, or list the image in solution.yaml',
      );
      const out = path.join(tmp.path, 'never');
      await mkdir(out);
      const b = await runSolutionInProcess(['build', dir, '-o', path.join(out, 'x.iso')]);
      expect(b.code).toBe(1);
      expect(b.err).toContain('no ISO was written');
    } finally {
      await writeFile(op, text);
    }
  });

  it('--images-auto completes a listed image list from the manifests', async () => {
    const doc = YAML.parse(await readFile(config(), 'utf8')) as Record<string, unknown>;
    doc.images = [];
    await writeFile(config(), YAML.stringify(doc));
    const without = await runSolutionInProcess(['lint', dir]);
    expect(without.code).toBe(1);
    expect(without.err).toContain('image-not-packaged');
    const withFlag = await runSolutionInProcess(['lint', dir, '--images-auto']);
    expect(withFlag.code, withFlag.err).toBe(0);
    await rm(path.join(dir, 'images', 'auto-app', 'Containerfile'));
    const noContext = await runSolutionInProcess(['lint', dir, '--images-auto']);
    expect(noContext.code).toBe(1);
    expect(noContext.err).toContain('[image-auto]');
  });
});
