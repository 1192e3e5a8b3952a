/** sha256FileOnWorker: the same digest as sha256File, off the caller's thread. */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256File, sha256FileOnWorker, sha256Hex } from '../../buildchain/lib/fs/hash.ts';
import { makeTempDir, type TempDir } from '../helpers/tmp.ts';

describe('sha256 on a worker thread', () => {
  let tmp: TempDir;
  beforeAll(async () => {
    tmp = await makeTempDir('mk8s-hash-worker-');
  });
  afterAll(async () => {
    await tmp.cleanup();
  });

  it('equals sha256File and the in-memory digest (several reads, and an empty file)', async () => {
    const data = Buffer.alloc((4 << 20) * 2 + 777, 3);
    const file = path.join(tmp.path, 'big');
    writeFileSync(file, data);
    writeFileSync(path.join(tmp.path, 'empty'), '');
    expect(await sha256FileOnWorker(file)).toBe(sha256Hex(data));
    expect(await sha256FileOnWorker(file)).toBe(await sha256File(file));
    expect(await sha256FileOnWorker(path.join(tmp.path, 'empty'))).toBe(sha256Hex(''));
  });

  it('rejects a missing file with ENOENT and an aborted signal with an Error', async () => {
    await expect(sha256FileOnWorker(path.join(tmp.path, 'nope'))).rejects.toMatchObject({
      code: 'ENOENT',
    });
    const c = new AbortController();
    c.abort();
    await expect(sha256FileOnWorker(path.join(tmp.path, 'big'), c.signal)).rejects.toBeInstanceOf(
      Error,
    );
  });
});
