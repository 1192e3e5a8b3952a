/**
 * images:dedup and the blob store's verified digests (tasks/images/dedup.ts,
 * media/images/blob-store.ts): a layout file that is a blob the store checked in this process
 * (same inode, size and mtime) is grouped by its digest without being read; anything else is
 * read; a claimed digest never links a file unread (a blob tampered on disk is read, and no
 * file is linked to it).
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { linkSync, mkdirSync, statSync, utimesSync, writeFileSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BlobStore } from '../../buildchain/media/images/blob-store.ts';
import { dedupTree } from '../../buildchain/tasks/images/dedup.ts';
import { makeTempDir, type TempDir } from '../helpers/tmp.ts';

let tmp: TempDir;

beforeEach(async () => {
  tmp = await makeTempDir('mk8s-dedup-claims-');
});
afterEach(async () => {
  await tmp.cleanup();
});

function digestOf(bytes: Buffer): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

/** A blob fetched into the store (checked as it streams), linked into layout `name`. */
async function pulled(
  store: BlobStore,
  images: string,
  name: string,
  bytes: Buffer,
): Promise<string> {
  const digest = digestOf(bytes);
  const file = await store.ensure(
    digest,
    bytes.length,
    () => Promise.resolve(Readable.from([bytes])),
    name,
  );
  const dest = path.join(images, name, digest.slice(7));
  mkdirSync(path.dirname(dest), { recursive: true });
  linkSync(file, dest);
  return dest;
}

/** A file written outside the store (e.g. a restored layout's copy of a blob). */
function copyAt(images: string, name: string, bytes: Buffer): string {
  const dest = path.join(images, name, digestOf(bytes).slice(7));
  mkdirSync(path.dirname(dest), { recursive: true });
  writeFileSync(dest, bytes);
  return dest;
}

describe('images:dedup with the blob store verified digests', () => {
  it('blobs the store checked are not read; same-size files it did not check are', async () => {
    const store = new BlobStore(path.join(tmp.path, 'blobs'));
    const images = path.join(tmp.path, 'images');
    // Three different blobs of one size (the dedup groups by size first), in three layouts.
    const a = await pulled(store, images, 'a', Buffer.from('config-A'));
    const b = await pulled(store, images, 'b', Buffer.from('config-B'));
    const c = copyAt(images, 'c', Buffer.from('config-C'));
    const claimed = (st: Parameters<BlobStore['verifiedDigest']>[0]): string | undefined =>
      store.verifiedDigest(st);
    expect(store.verifiedDigest(statSync(a))).toBe(digestOf(Buffer.from('config-A')).slice(7));
    expect(store.verifiedDigest(statSync(c))).toBeUndefined();
    const r = await dedupTree([images], { claimed });
    expect(r).toMatchObject({ files: 3, linked: 0, hashed: 1 });
    // Without the store's word, every one is read.
    expect((await dedupTree([images])).hashed).toBe(3);
    expect(statSync(b).ino).not.toBe(statSync(a).ino);
  });

  it('a copy of a checked blob is linked to it (both read first)', async () => {
    const store = new BlobStore(path.join(tmp.path, 'blobs'));
    const images = path.join(tmp.path, 'images');
    const a = await pulled(store, images, 'a', Buffer.from('layer-X'));
    const copy = copyAt(images, 'restored', Buffer.from('layer-X'));
    const r = await dedupTree([images], { claimed: (st) => store.verifiedDigest(st) });
    expect(r).toMatchObject({ linked: 1, hashed: 2 });
    expect(statSync(copy).ino).toBe(statSync(a).ino);
  });

  it('a blob tampered on disk is read: a different mtime loses the claim, and a kept mtime never links unread', async () => {
    const store = new BlobStore(path.join(tmp.path, 'blobs'));
    const images = path.join(tmp.path, 'images');
    const good = Buffer.from('layer-X');
    const a = await pulled(store, images, 'a', good);
    const before = statSync(a);
    const ns = statSync(a, { bigint: true }).mtimeNs;
    // Same size, other bytes, mtime put back (to the nanosecond): the stat still matches the
    // store's record.
    writeFileSync(a, Buffer.from('layer-Y'));
    const nsText = String(ns % 1_000_000_000n).padStart(9, '0');
    execFileSync('touch', ['-m', '-d', `@${ns / 1_000_000_000n}.${nsText}`, a]);
    expect(store.verifiedDigest(statSync(a))).toBe(digestOf(good).slice(7));
    // A restored copy with the bytes the blob should have: the same digest as the claim.
    const copy = copyAt(images, 'restored', good);
    const r = await dedupTree([images], { claimed: (st) => store.verifiedDigest(st) });
    // The claim collided, so the blob was read: its bytes differ, nothing is linked.
    expect(r).toMatchObject({ linked: 0, hashed: 2 });
    expect(readFileSync(copy, 'utf8')).toBe('layer-X');
    expect(statSync(copy).ino).not.toBe(statSync(a).ino);
    // Tampered with a new mtime: the store no longer vouches for it.
    writeFileSync(a, Buffer.from('layer-Z'));
    utimesSync(a, before.atime, new Date(before.mtimeMs + 5000));
    expect(store.verifiedDigest(statSync(a))).toBeUndefined();
  });
});
