import { describe, expect, it } from 'vitest';
import { archiveArgv } from '../../buildchain/tasks/images/archive.ts';
import {
  buildArgv,
  exportArgv,
  standInContext,
  toDirArgv,
} from '../../buildchain/tasks/images/builder-args.ts';
import { setDigests } from '../../buildchain/tasks/images/lock.ts';

const base = {
  bin: 'buildah',
  storageRoot: '/b/s',
  runRoot: '/b/r',
  tag: 'localhost/x:1',
  file: '/c/Dockerfile',
  context: '/c',
  args: { B: '2', A: '1' },
};

describe('builder argv', () => {
  it('buildah: private vfs store, chroot isolation, timestamp 0, sorted build args', () => {
    expect(buildArgv({ ...base, builder: 'buildah' })).toEqual([
      'buildah',
      '--root',
      '/b/s',
      '--runroot',
      '/b/r',
      '--storage-driver',
      'vfs',
      'bud',
      '--isolation',
      'chroot',
      '--timestamp',
      '0',
      '-f',
      '/c/Dockerfile',
      '-t',
      'localhost/x:1',
      '--build-arg',
      'A=1',
      '--build-arg',
      'B=2',
      '/c',
    ]);
    expect(buildArgv({ ...base, builder: 'podman', bin: 'podman' })[7]).toBe('build');
    expect(buildArgv({ ...base, builder: 'docker', bin: 'docker' })).toEqual([
      'docker',
      'build',
      '--force-rm',
      '-f',
      '/c/Dockerfile',
      '-t',
      'localhost/x:1',
      '--build-arg',
      'A=1',
      '--build-arg',
      'B=2',
      '/c',
    ]);
  });

  it('exports to OCI then to a v2s2 dir layout; archives with a name', () => {
    expect(exportArgv({ ...base, builder: 'buildah' }, '/o', 'skopeo').slice(-4)).toEqual([
      'push',
      '-q',
      'localhost/x:1',
      'oci:/o:image',
    ]);
    expect(exportArgv({ ...base, builder: 'docker' }, '/o', 'skopeo')).toEqual([
      'skopeo',
      'copy',
      '-q',
      'docker-daemon:localhost/x:1',
      'oci:/o:image',
    ]);
    expect(toDirArgv('skopeo', '/o', '/d')).toEqual([
      'skopeo',
      'copy',
      '-q',
      '--format',
      'v2s2',
      '--dest-compress',
      'oci:/o:image',
      'dir:/d',
    ]);
    expect(archiveArgv('skopeo', '/l', '/t.tar', 'k8s.gcr.io/pause:3.1')).toEqual([
      'skopeo',
      'copy',
      '-q',
      'dir:/l',
      'docker-archive:/t.tar:k8s.gcr.io/pause:3.1',
    ]);
  });

  it('stand-in contexts are FROM scratch and name the image', () => {
    const ctx = standInContext('keepalived', '1.3.5-16.el7-1');
    expect(ctx.Containerfile).toContain('FROM scratch');
    expect(ctx['stand-in.txt']).toContain('keepalived:1.3.5-16.el7-1');
  });
});

describe('images:lock YAML update', () => {
  const text = `# top comment
images:
  # the unpinned one
  - name: prometheus
    version: v2.12.0
    source: { registry: quay.io, repository: prometheus/prometheus }
  - name: other
    version: "1"
    source: { registry: quay.io, repository: o/o }
`;
  it('adds the digest to the entry and keeps comments', () => {
    const out = setDigests(text, new Map([['prometheus:v2.12.0', `sha256:${'f'.repeat(64)}`]]));
    expect(out).toContain('# top comment');
    expect(out).toContain('# the unpinned one');
    expect(out).toContain(`digest: sha256:${'f'.repeat(64)}`);
    expect(out.indexOf('digest:')).toBeLessThan(out.indexOf('name: other'));
  });
  it('fails on an unknown entry', () => {
    expect(() => setDigests(text, new Map([['nope:1', 'x']]))).toThrow('entries not found: nope:1');
  });
});

describe('registries.conf for builders', () => {
  it('routes each upstream registry to its mirror, sorted; nothing without mirrors', async () => {
    const { registriesConf } = await import('../../buildchain/tasks/images/builder-args.ts');
    const conf = registriesConf([
      { upstream: 'quay.io', location: '127.0.0.1:5000/quay', insecure: true },
      { upstream: 'docker.io', location: 'harbor.example.com/dockerhub', insecure: false },
    ]);
    expect(conf.indexOf('location = "docker.io"')).toBeLessThan(
      conf.indexOf('location = "quay.io"'),
    );
    expect(conf).toContain(
      '[[registry.mirror]]\nlocation = "127.0.0.1:5000/quay"\ninsecure = true',
    );
    expect(registriesConf([])).toBe('');
  });
});
