import { execFileSync } from 'node:child_process';
import {
  chmod,
  link,
  mkdir,
  readdir,
  readFile,
  symlink,
  utimes,
  writeFile,
} from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TaskError } from '../../buildchain/engine/task.ts';
import {
  checkIsoMd5,
  extractIso,
  isoVolumeInfo,
  listIso,
  readIsoFile,
  readIsoFilePrimary,
} from '../../buildchain/media/iso/read-iso.ts';
import { writeIso } from '../../buildchain/media/iso/write-iso.ts';
import { missingTools } from '../helpers/require-tool.ts';
import { makeTempDir, type TempDir } from '../helpers/tmp.ts';

const missing = missingTools(
  'xorriso',
  'isoinfo',
  'bsdtar',
  'checkisomd5',
  'implantisomd5',
  'sha256sum',
);

// A tree of a few MB, hard link, exec bit, UTF-8 name, symlink.
async function makeTree(root: string): Promise<void> {
  await mkdir(path.join(root, 'dir/sub'), { recursive: true });
  await writeFile(path.join(root, 'product.txt'), 'NAME=Test\nVERSION=1.0.0\n');
  await writeFile(path.join(root, 'dir/sub/data.bin'), Buffer.alloc(2_000_000, 7));
  await link(path.join(root, 'dir/sub/data.bin'), path.join(root, 'dir/hard.bin'));
  await writeFile(path.join(root, 'run.sh'), '#!/bin/sh\necho hi\n');
  await chmod(path.join(root, 'run.sh'), 0o755);
  await writeFile(path.join(root, 'fichier-accentué.txt'), 'utf-8 name\n');
  await symlink('dir/sub/data.bin', path.join(root, 'link'));
}

describe.skipIf(missing.length > 0)('writeIso (xorriso, implanted md5, SHA256SUM)', () => {
  let tmp: TempDir;
  let iso: string;
  beforeAll(async () => {
    tmp = await makeTempDir('iso-write-');
    await makeTree(path.join(tmp.path, 'root'));
    iso = path.join(tmp.path, 'out/test.iso');
    await mkdir(path.dirname(iso));
    await writeIso({
      root: path.join(tmp.path, 'root'),
      output: iso,
      volumeId: 'Test 1.0.0',
      epoch: 1700000000,
    });
  });
  afterAll(async () => {
    await tmp.cleanup();
  });

  it('has the volume id, Rock Ridge and Joliet (isoinfo -d)', async () => {
    const info = await isoVolumeInfo(iso);
    expect(info.volumeId).toBe('Test 1.0.0');
    expect(info.rockRidge).toBe(true);
    expect(info.joliet).toBe(true);
  });

  it('holds the tree with names, modes, symlinks and hard links (bsdtar)', async () => {
    expect(await listIso(iso)).toEqual([
      'dir',
      'dir/hard.bin',
      'dir/sub',
      'dir/sub/data.bin',
      'fichier-accentué.txt',
      'link',
      'product.txt',
      'run.sh',
    ]);
    const out = path.join(tmp.path, 'x');
    await extractIso(iso, out);
    const stat = (p: string): string =>
      execFileSync('stat', ['-c', '%a %h', path.join(out, p)], { encoding: 'utf8' }).trim();
    expect(stat('run.sh')).toBe('755 1');
    expect(stat('dir/hard.bin')).toBe('644 2');
    expect(execFileSync('readlink', [path.join(out, 'link')], { encoding: 'utf8' }).trim()).toBe(
      'dir/sub/data.bin',
    );
    expect((await readIsoFile(iso, 'fichier-accentué.txt')).toString()).toBe('utf-8 name\n');
  });

  it('serves product.txt as /PRODUCT.TXT;1 to isoinfo (as Salt reads it)', async () => {
    expect((await readIsoFilePrimary(iso, '/PRODUCT.TXT;1')).toString()).toBe(
      'NAME=Test\nVERSION=1.0.0\n',
    );
  });

  it('implants exactly what implantisomd5 implants, and checkisomd5 passes', async () => {
    expect(await checkIsoMd5(iso)).toBe('PASS');
    const plain = path.join(tmp.path, 'plain/test.iso');
    await mkdir(path.dirname(plain));
    await writeIso({
      root: path.join(tmp.path, 'root'),
      output: plain,
      volumeId: 'Test 1.0.0',
      epoch: 1700000000,
      implantMd5: false,
    });
    expect(await checkIsoMd5(plain)).toBe('NA');
    // Without an implant the sha256 is computed while streaming: sha256sum must agree.
    expect(
      execFileSync('sha256sum', ['-c', 'SHA256SUM'], {
        cwd: path.dirname(plain),
        encoding: 'utf8',
      }),
    ).toBe('test.iso: OK\n');
    execFileSync('implantisomd5', [plain], { stdio: 'ignore' });
    expect((await readFile(plain)).equals(await readFile(iso))).toBe(true);
  });

  it('writes a SHA256SUM that sha256sum -c accepts', () => {
    expect(
      execFileSync('sha256sum', ['-c', 'SHA256SUM'], { cwd: path.dirname(iso), encoding: 'utf8' }),
    ).toBe('test.iso: OK\n');
  });

  it('is byte-identical when rebuilt from a copy with other mtimes', async () => {
    const copy = path.join(tmp.path, 'root2');
    // cp -a keeps the hard link (fs.cp would not), so only paths and mtimes differ.
    execFileSync('cp', ['-a', path.join(tmp.path, 'root'), copy]);
    await utimes(path.join(copy, 'product.txt'), 1, 1);
    const again = path.join(tmp.path, 'again/test.iso');
    await mkdir(path.dirname(again));
    await writeIso({ root: copy, output: again, volumeId: 'Test 1.0.0', epoch: 1700000000 });
    expect((await readFile(again)).equals(await readFile(iso))).toBe(true);
  });

  it('leaves no ISO, temp file or SHA256SUM when the writer fails', async () => {
    const dir = path.join(tmp.path, 'fail');
    await mkdir(dir);
    const err = await writeIso({
      root: path.join(tmp.path, 'no-such-dir'),
      output: path.join(dir, 'x.iso'),
      volumeId: 'X',
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TaskError);
    expect((err as TaskError).reason).toBe('command-failed');
    expect(await readdir(dir)).toEqual([]);
  });

  it('refuses a volume id over 32 bytes before writing anything', async () => {
    const dir = path.join(tmp.path, 'long');
    await mkdir(dir);
    await expect(
      writeIso({
        root: path.join(tmp.path, 'root'),
        output: path.join(dir, 'x.iso'),
        volumeId: 'A'.repeat(33),
      }),
    ).rejects.toThrow(/33 bytes/);
    expect(await readdir(dir)).toEqual([]);
  });
});
