/**
 * Release-scale content with real readers: a generated layer is a gzip'd tar that gzip and
 * bsdtar read, whose sha256 is its digest and whose tar sha256 its diff id, generated once and
 * reused; a stand-in RPM with a payload builds with rpmbuild and carries it.
 */
import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execDirect } from '../../buildchain/engine/exec/run-command.ts';
import { generateLayer } from '../../buildchain/sources/embedded/scale-content.ts';
import { buildStandInRpm } from '../../buildchain/sources/embedded/stand-in-rpm.ts';
import { missingTools } from '../helpers/require-tool.ts';
import { makeTempDir, type TempDir } from '../helpers/tmp.ts';

const sha = (b: Buffer) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

describe.skipIf(missingTools('gzip', 'bsdtar', 'rpmbuild', 'rpm').length > 0)(
  'release-scale content',
  () => {
    let tmp: TempDir;
    beforeAll(async () => {
      tmp = await makeTempDir('mk8s-scale-');
    });
    afterAll(async () => {
      await tmp.cleanup();
    });

    it('writes a layer gzip and bsdtar read, with its digest and diff id, once', async () => {
      const cache = path.join(tmp.path, 'cache');
      await execDirect(['mkdir', '-p', cache]);
      const layer = { id: 'base-x', bytes: 300_000 };
      const g = await generateLayer(cache, 'seed', layer);
      const bytes = await readFile(g.file);
      expect(g.size).toBe(bytes.length);
      expect(Math.abs(g.size - layer.bytes)).toBeLessThan(2048);
      expect(sha(bytes)).toBe(g.digest);
      await execDirect(['gzip', '-t', g.file]);
      const tar = (await execDirect(['sh', '-c', 'gzip -dc "$1" | sha256sum', 'sh', g.file]))
        .stdout;
      expect(`sha256:${tar.split(' ')[0] ?? ''}`).toBe(g.diffId);
      const list = await execDirect(['bsdtar', '-tvf', g.file]);
      expect(list.stdout).toContain('stand-in/base-x.bin');
      const before = (await stat(g.file)).mtimeMs;
      const again = await generateLayer(cache, 'seed', layer);
      expect(again).toEqual(g);
      expect((await stat(g.file)).mtimeMs).toBe(before);
      // Same id and size with another seed: another blob.
      expect((await generateLayer(cache, 'other', layer)).digest).not.toBe(g.digest);
    });

    it('builds a stand-in RPM carrying its seeded payload', async () => {
      const rpm = await buildStandInRpm(
        { name: 'filler', version: '1.0', release: '1.el7', payloadBytes: 200_000 },
        {
          workDir: path.join(tmp.path, 'work'),
          destDir: path.join(tmp.path, 'rpms'),
          seed: 'seed',
        },
      );
      const size = (await stat(rpm)).size;
      expect(size).toBeGreaterThan(200_000);
      expect(size).toBeLessThan(200_000 + 16_384);
      const files = await execDirect(['rpm', '-qlp', rpm]);
      expect(files.stdout).toContain('/usr/share/metalk8s-stand-in/filler.bin');
    });
  },
);
