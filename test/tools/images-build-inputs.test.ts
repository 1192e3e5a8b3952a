/**
 * A change to a local image's inputs reaches the ISO (SOURCES=embedded, real buildah and
 * skopeo, the real images task factory on the engine): an edited build-context file, a build
 * arg, a retargeted symlink or a Containerfile outside the context rebuilds the stand-in into
 * *another* image (its label records the digest of the real inputs), so a task depending on
 * the layout (as the ISO does) runs again; an unchanged tree stays a no-op. Before the fix the
 * stand-in ignored the real context: the rebuilt image was byte-identical and the ISO kept the
 * old one.
 */
import { execFile } from 'node:child_process';
import {
  appendFile,
  chmod,
  copyFile,
  mkdir,
  readFile,
  rm,
  symlink,
  writeFile,
} from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BuildConfig } from '../../buildchain/config/config.ts';
import { fn, type TaskDefinition } from '../../buildchain/engine/task.ts';
import { buildInputsDigest } from '../../buildchain/tasks/images/build.ts';
import { createImagesTasks } from '../../buildchain/tasks/images/tasks.ts';
import { createSources, type Sources } from '../../buildchain/sources/sources.ts';
import { testConfig } from '../helpers/config.ts';
import { runOnEngine } from '../helpers/engine-run.ts';
import { missingTools } from '../helpers/require-tool.ts';
import { makeTempDir, type TempDir } from '../helpers/tmp.ts';

const run = promisify(execFile);

const list = (arg: string): string => `images:
  - name: hello
    version: "1.0"
    build:
      context: images/hello
      file: ../shared/Containerfile
      args: { GREETING: ${arg} }
`;

describe('buildInputsDigest', () => {
  let tmp: TempDir;
  beforeAll(async () => {
    tmp = await makeTempDir('mk8s-build-inputs-');
  });
  afterAll(async () => {
    await tmp.cleanup();
  });

  it('changes with a context file, its exec bit, a new file, the Containerfile and the args', async () => {
    const ctx = path.join(tmp.path, 'ctx');
    await mkdir(path.join(ctx, 'sub'), { recursive: true });
    await writeFile(path.join(ctx, 'sub', 'entrypoint.sh'), 'echo hi\n');
    const file = path.join(tmp.path, 'Containerfile');
    await writeFile(file, 'FROM x\n');
    const digest = (args: Record<string, string> = { A: '1' }): Promise<string> =>
      buildInputsDigest(ctx, file, args);
    const seen = new Set<string>();
    const base = await digest();
    expect(base).toMatch(/^[0-9a-f]{64}$/);
    expect(await digest()).toBe(base);
    seen.add(base);
    const expectNew = (d: string): void => {
      expect(seen.has(d)).toBe(false);
      seen.add(d);
    };
    expectNew(await digest({ A: '2' }));
    expectNew(await digest({ A: '1', B: '' }));
    await appendFile(path.join(ctx, 'sub', 'entrypoint.sh'), '# more\n');
    expectNew(await digest());
    await chmod(path.join(ctx, 'sub', 'entrypoint.sh'), 0o755);
    expectNew(await digest());
    await writeFile(path.join(ctx, 'new.txt'), '');
    expectNew(await digest());
    await appendFile(file, 'COPY . /\n');
    expectNew(await digest());
    await symlink('new.txt', path.join(ctx, 'link'));
    expectNew(await digest());
    await rm(path.join(ctx, 'link'));
    await symlink('sub/entrypoint.sh', path.join(ctx, 'link'));
    expectNew(await digest());
  });
});

describe.skipIf(missingTools('buildah', 'skopeo').length > 0)(
  'a local image input change reaches the ISO (SOURCES=embedded)',
  () => {
    let tmp: TempDir;
    let config: BuildConfig;
    let sources: Sources;
    let layout: string;
    let shipped: string;

    const defs = (): TaskDefinition[] => {
      const images = createImagesTasks(config, sources);
      // Stands for the ISO: it depends on the images group and reads the layout's manifest.
      const iso: TaskDefinition = {
        name: 'fake-iso',
        taskDeps: ['images'],
        fileDeps: [path.join(layout, 'manifest.json')],
        targets: [shipped],
        actions: [
          fn('ship', async () => {
            await copyFile(path.join(layout, 'manifest.json'), shipped);
          }),
        ],
      };
      return [...images, iso];
    };
    const build = async (): Promise<string[]> => {
      const r = await runOnEngine(config, defs(), ['fake-iso']);
      expect(r.failures).toEqual([]);
      expect(r.exitCode).toBe(0);
      return [...r.ran].sort();
    };

    beforeAll(async () => {
      tmp = await makeTempDir('mk8s-build-inputs-e2e-');
      const root = tmp.path;
      await mkdir(path.join(root, 'images', 'hello'), { recursive: true });
      await mkdir(path.join(root, 'images', 'shared'), { recursive: true });
      await writeFile(path.join(root, 'images', 'images.yaml'), list('hi'));
      await writeFile(
        path.join(root, 'images', 'shared', 'Containerfile'),
        'FROM quay.io/nowhere/base:1\nCOPY entrypoint.sh /\n',
      );
      await writeFile(path.join(root, 'images', 'hello', 'a.conf'), 'a\n');
      await writeFile(path.join(root, 'images', 'hello', 'b.conf'), 'b\n');
      await symlink('a.conf', path.join(root, 'images', 'hello', 'current.conf'));
      await writeFile(
        path.join(root, 'images', 'hello', 'entrypoint.sh'),
        '#!/bin/sh\nexec "$@"\n',
      );
      await writeFile(
        path.join(root, 'VERSION'),
        'VERSION_MAJOR=2\nVERSION_MINOR=4\nVERSION_PATCH=0\nVERSION_SUFFIX=-test\n',
      );
      config = testConfig(root, { SOURCES: 'embedded' });
      sources = createSources(config);
      layout = path.join(config.isoRoot, 'images', 'hello', '1.0');
      shipped = path.join(config.buildRoot, 'shipped-manifest.json');
    }, 60_000);
    afterAll(async () => {
      await sources.stop();
      await tmp.cleanup();
    });

    it('rebuilds another image on each input change, the ISO follows, no-ops stay no-ops', async () => {
      expect(await build()).toEqual(expect.arrayContaining(['images:build:hello', 'fake-iso']));
      const first = await readFile(shipped, 'utf8');
      expect(await build()).toEqual([]);

      const seen = [first];
      const expectRebuilt = async (what: string): Promise<void> => {
        const ran = await build();
        expect(ran, what).toEqual(expect.arrayContaining(['images:build:hello', 'fake-iso']));
        const now = await readFile(shipped, 'utf8');
        expect(now, `${what}: the ISO got the rebuilt image`).toBe(
          await readFile(path.join(layout, 'manifest.json'), 'utf8'),
        );
        expect(seen, `${what}: another image`).not.toContain(now);
        seen.push(now);
        expect(await build(), `${what}: then a no-op`).toEqual([]);
      };
      await appendFile(path.join(tmp.path, 'images', 'hello', 'entrypoint.sh'), '# changed\n');
      await expectRebuilt('context file appended');
      await appendFile(path.join(tmp.path, 'images', 'shared', 'Containerfile'), 'USER 1000\n');
      await expectRebuilt('Containerfile outside the context edited');
      await writeFile(path.join(tmp.path, 'images', 'images.yaml'), list('hello'));
      await expectRebuilt('build arg changed');
      const current = path.join(tmp.path, 'images', 'hello', 'current.conf');
      await rm(current);
      await symlink('b.conf', current);
      await expectRebuilt('symlink in the context retargeted');
      // The stand-in says which real inputs it stands for.
      const { stdout } = await run('skopeo', ['inspect', '--config', `dir:${layout}`]);
      expect(stdout).toMatch(/"com\.scality\.metalk8s\.stand-in\.inputs": "sha256:[0-9a-f]{64}"/);
    }, 300_000);
  },
);
