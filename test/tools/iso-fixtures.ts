/** Tiny ISO-root fixtures for the ISO tool tests: layout files, an image layout, a yum repo. */
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { REQUIRED_LAYOUT, registryLayout } from '../../buildchain/tasks/iso/verify.ts';
import { dockerManifest, helloImage } from '../helpers/docker-image.ts';

const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

/** `images/<name>/<tag>/` in skopeo `dir:` layout with a config and one layer blob. */
export async function writeImageLayout(
  isoRoot: string,
  name: string,
  tag: string,
  layerBytes = 4096,
): Promise<string> {
  const dir = path.join(isoRoot, 'images', name, tag);
  await mkdir(dir, { recursive: true });
  const config = Buffer.from(
    JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      rootfs: { type: 'layers', diff_ids: [] },
    }),
  );
  const layer = randomBytes(layerBytes);
  await writeFile(path.join(dir, sha256(config)), config);
  await writeFile(path.join(dir, sha256(layer)), layer);
  await writeFile(path.join(dir, 'version'), 'Directory Transport Version: 1.1\n');
  await writeFile(path.join(dir, 'manifest.json'), dockerManifest(config, layer));
  return path.join(dir, sha256(layer));
}

/** A noarch RPM built with rpmbuild in `work`, then a createrepo_c repo at `repoDir`. */
export async function writeRepo(work: string, repoDir: string): Promise<string> {
  const top = path.join(work, 'rpmtop');
  for (const d of ['SPECS', 'SOURCES', 'BUILD', 'RPMS', 'SRPMS', 'BUILDROOT'])
    await mkdir(path.join(top, d), { recursive: true });
  const spec = path.join(top, 'SPECS', 'tiny.spec');
  await writeFile(
    spec,
    [
      'Name: tiny',
      'Version: 1.0',
      'Release: 1',
      'Summary: tiny',
      'License: MIT',
      'BuildArch: noarch',
      '%description',
      'tiny',
      '%install',
      'mkdir -p %{buildroot}/usr/share/tiny && echo hi > %{buildroot}/usr/share/tiny/hi',
      '%files',
      '/usr/share/tiny/hi',
      '',
    ].join('\n'),
  );
  execFileSync('rpmbuild', ['--quiet', '--define', `_topdir ${top}`, '-bb', spec], {
    stdio: 'ignore',
  });
  await mkdir(path.join(repoDir, 'noarch'), { recursive: true });
  const rpm = path.join(repoDir, 'noarch', 'tiny-1.0-1.noarch.rpm');
  execFileSync('cp', [path.join(top, 'RPMS', 'noarch', 'tiny-1.0-1.noarch.rpm'), rpm]);
  execFileSync('createrepo_c', ['-q', '--no-database', repoDir]);
  return rpm;
}

/**
 * Every required layout file (registry files of `name` included, as placeholders), product.txt,
 * plus 2 MB of data (isomd5sum needs > ~1 MB).
 */
export async function writeLayout(
  isoRoot: string,
  name = 'MetalK8s',
  version = '2.4.0-beta1',
): Promise<void> {
  for (const rel of [...REQUIRED_LAYOUT, ...registryLayout(name)]) {
    await mkdir(path.dirname(path.join(isoRoot, rel)), { recursive: true });
    await writeFile(path.join(isoRoot, rel), `# ${rel}\n`);
  }
  await writeFile(
    path.join(isoRoot, 'product.txt'),
    `NAME=${name}\nVERSION=${version}\nSHORT_VERSION=2.4\nGIT=\nDEVELOPMENT_RELEASE=0\nBUILD_TIMESTAMP=2023-11-14T22:13:20Z\nBUILD_HOST=h\nSOURCES=embedded\n`,
  );
  await writeFile(path.join(isoRoot, 'filler.bin'), randomBytes(2_000_000));
}

/**
 * `images/<name>/<tag>/` as a `platforms: all` image: manifest.json is a Docker manifest list,
 * each platform's manifest is stored as `<hex>.manifest.json` next to the blobs. Returns the
 * instance manifest files and one blob of each.
 */
export async function writeListLayout(
  isoRoot: string,
  name: string,
  tag: string,
): Promise<{ instances: string[]; blobs: string[] }> {
  const dir = path.join(isoRoot, 'images', name, tag);
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(dir, 'version'), 'Directory Transport Version: 1.1\n');
  const entries = [];
  const instances: string[] = [];
  const blobs: string[] = [];
  for (const architecture of ['amd64', 'arm64']) {
    const config = Buffer.from(
      JSON.stringify({ architecture, os: 'linux', rootfs: { type: 'layers', diff_ids: [] } }),
    );
    const layer = randomBytes(2048);
    await writeFile(path.join(dir, sha256(config)), config);
    await writeFile(path.join(dir, sha256(layer)), layer);
    const manifest = dockerManifest(config, layer);
    const file = path.join(dir, `${sha256(manifest)}.manifest.json`);
    await writeFile(file, manifest);
    instances.push(file);
    blobs.push(path.join(dir, sha256(layer)));
    entries.push({
      mediaType: 'application/vnd.docker.distribution.manifest.v2+json',
      size: manifest.length,
      digest: `sha256:${sha256(manifest)}`,
      platform: { architecture, os: 'linux' },
    });
  }
  const list = {
    schemaVersion: 2,
    mediaType: 'application/vnd.docker.distribution.manifest.list.v2+json',
    manifests: entries,
  };
  await writeFile(path.join(dir, 'manifest.json'), JSON.stringify(list));
  return { instances, blobs };
}

/**
 * A docker-archive tar at `<isoRoot>/<rel>` (as `ship: archive` images are shipped), written by
 * skopeo from a one-layer image whose layer holds `hello.txt` = `text`.
 */
export async function writeDockerArchive(
  isoRoot: string,
  rel: string,
  text: string,
): Promise<string> {
  const work = await mkdtemp(path.join(os.tmpdir(), 'docker-archive-'));
  try {
    const { config, layer, manifest } = await helloImage(text);
    const layout = path.join(work, 'layout');
    await mkdir(layout);
    await writeFile(path.join(layout, sha256(layer)), layer);
    await writeFile(path.join(layout, sha256(config)), config);
    await writeFile(path.join(layout, 'version'), 'Directory Transport Version: 1.1\n');
    await writeFile(path.join(layout, 'manifest.json'), manifest);
    const dest = path.join(isoRoot, rel);
    await mkdir(path.dirname(dest), { recursive: true });
    execFileSync('skopeo', [
      'copy',
      '-q',
      `dir:${layout}`,
      `docker-archive:${dest}:k8s.gcr.io/pause:3.1`,
    ]);
    return dest;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
