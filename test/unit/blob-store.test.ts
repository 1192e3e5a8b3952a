/**
 * BlobStore.ensure on both of its write paths: a blob up to 1 MiB (received in memory, checked,
 * written at once) and a larger one (streamed into a temp file): the same bytes and mode, the
 * digest and size checked, nothing kept on a mismatch, one fetch for concurrent callers.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BlobStore } from '../../buildchain/media/images/blob-store.ts';
import { makeTempDir, type TempDir } from '../helpers/tmp.ts';

function digestOf(b: Buffer): string {
  return `sha256:${createHash('sha256').update(b).digest('hex')}`;
}

/** A stream of `b` in 64 KiB chunks (as a socket would give it). */
function chunked(b: Buffer): Readable {
  const parts: Buffer[] = [];
  for (let i = 0; i < b.length; i += 65536) parts.push(b.subarray(i, i + 65536));
  return Readable.from(parts);
}

describe('BlobStore.ensure', () => {
  let tmp: TempDir;
  beforeAll(async () => {
    tmp = await makeTempDir('mk8s-blobstore-');
  });
  afterAll(async () => {
    await tmp.cleanup();
  });

  const sizes = { small: 700 * 1024, large: 3 * 1024 * 1024 + 5 };

  for (const [kind, size] of Object.entries(sizes)) {
    it(`stores a ${kind} blob once, checked; a mismatch keeps nothing`, async () => {
      const store = new BlobStore(path.join(tmp.path, kind));
      const bytes = Buffer.alloc(size, kind === 'small' ? 's' : 'l');
      const digest = digestOf(bytes);
      let opened = 0;
      const open = () => {
        opened++;
        return Promise.resolve(chunked(bytes));
      };
      const [p1, p2] = await Promise.all([
        store.ensure(digest, size, open, 'img:1'),
        store.ensure(digest, size, open, 'img:1'),
      ]);
      expect(p1).toBe(store.pathOf(digest));
      expect(p2).toBe(p1);
      expect(opened).toBe(1);
      expect(readFileSync(p1).equals(bytes)).toBe(true);
      expect(statSync(p1).mode & 0o777).toBe(0o644);
      expect(store.stats).toMatchObject({ blobsFetched: 1, bytesFetched: size });

      // Other bytes of the same size, or a short body: refused, nothing left in the store.
      const other = Buffer.alloc(size, 'x');
      const claimed = digestOf(Buffer.alloc(size, 'y'));
      await expect(
        store.ensure(claimed, size, () => Promise.resolve(chunked(other)), 'img:2'),
      ).rejects.toThrow(/img:2: blob sha256:[a-f0-9]+ received with digest sha256:/);
      await expect(
        store.ensure(
          claimed,
          size,
          () => Promise.resolve(chunked(other.subarray(0, 100))),
          'img:3',
        ),
      ).rejects.toThrow(`(100 bytes, expected ${size})`);
      expect(existsSync(store.pathOf(claimed))).toBe(false);
      expect(readdirSync(path.dirname(p1))).toEqual([path.basename(p1)]);
    });
  }
});
