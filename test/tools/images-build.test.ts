/**
 * Local builds with the real buildah: the FROM scratch stand-in (what SOURCES=embedded builds
 * for keepalived & co.), exported to a v2s2 dir: layout through the blob store; reproducible.
 */
import { execFile } from 'node:child_process';
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BlobStore } from '../../buildchain/media/images/blob-store.ts';
import { buildLocalImage, writeStandInContext } from '../../buildchain/tasks/images/build.ts';
import { missingTools } from '../helpers/require-tool.ts';
import { makeTempDir, type TempDir } from '../helpers/tmp.ts';

const run = promisify(execFile);

describe.skipIf(missingTools('buildah', 'skopeo').length > 0)(
  'images: local builds with buildah',
  () => {
    let tmp: TempDir;

    beforeAll(async () => {
      tmp = await makeTempDir('mk8s-images-build-');
    });
    afterAll(async () => {
      await tmp.cleanup();
    });

    it('builds the stand-in twice into identical v2s2 layouts whose blobs live in the store', async () => {
      const context = path.join(tmp.path, 'ctx');
      const file = await writeStandInContext(context, 'keepalived', '1.3.5-16.el7-1');
      const store = new BlobStore(path.join(tmp.path, 'blobs'));
      const build = (dest: string): Promise<void> =>
        buildLocalImage({
          name: 'keepalived',
          version: '1.3.5-16.el7-1',
          context,
          file,
          workDir: path.join(tmp.path, 'work'),
          store,
          dest,
        });
      const a = path.join(tmp.path, 'a', 'keepalived', '1.3.5-16.el7-1');
      const b = path.join(tmp.path, 'b', 'keepalived', '1.3.5-16.el7-1');
      await build(a);
      await build(b);
      const manifest = await readFile(path.join(a, 'manifest.json'), 'utf8');
      expect(JSON.parse(manifest)).toMatchObject({
        mediaType: 'application/vnd.docker.distribution.manifest.v2+json',
      });
      expect(await readFile(path.join(b, 'manifest.json'), 'utf8')).toBe(manifest);
      const layer =
        (JSON.parse(manifest) as { layers: { digest: string }[] }).layers[0]?.digest ?? '';
      const inA = await stat(path.join(a, layer.slice(7)));
      expect(inA.ino).toBe((await stat(path.join(b, layer.slice(7)))).ino);
      expect(inA.ino).toBe((await stat(store.pathOf(layer))).ino);
      const { stdout } = await run('skopeo', ['inspect', '--config', `dir:${a}`]);
      expect(stdout).toContain('"com.scality.metalk8s.stand-in": "true"');
    });
  },
);
