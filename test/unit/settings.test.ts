/** The typed settings: every key parsed once, every bad value an invalid-env usage error. */
import { describe, expect, it } from 'vitest';
import { UsageError } from '../../buildchain/engine/failures.ts';
import { parseSettings } from '../../buildchain/config/settings.ts';

function failure(values: Record<string, string>): UsageError {
  try {
    parseSettings(values);
  } catch (err) {
    if (err instanceof UsageError) return err;
    throw err;
  }
  throw new Error(`accepted ${JSON.stringify(values)}`);
}

describe('parseSettings', () => {
  it('gives the defaults for empty or missing keys', () => {
    const s = parseSettings({ IMAGE_BUILDER: '', RPM_BUILDER: '' });
    expect(s).toMatchObject({
      projectName: 'MetalK8s',
      sources: 'embedded',
      sourceDateEpoch: undefined,
      commandTimeoutMs: 3_600_000,
      allowUnpinnedImages: false,
      imageBuilder: 'buildah',
      imagePullConnections: 4,
      rpmBuilder: 'local',
      rpmBuilderImage: 'docker.io/library/centos:7',
      rpmSignKey: undefined,
      gnupgHome: undefined,
      isoSignKey: undefined,
      isoRootStrays: 'remove',
      isoVerifyPath: undefined,
      artifactsEventLog: undefined,
      artifactsCompareTo: undefined,
      vagrant: {
        provider: 'virtualbox',
        upArgs: '',
        box: 'centos/7',
        memoryMiB: 4096,
        cpus: 2,
        nodes: 9,
        sshKeygenBin: 'ssh-keygen',
      },
    });
    expect(s.mirrors).toEqual({
      registryMirrors: [],
      insecureRegistries: [],
      authFile: '',
      packageMirrors: [],
    });
  });

  it('types every value that is set', () => {
    const s = parseSettings({
      PROJECT_NAME: 'Other-K8s_1.0',
      SOURCES: 'site',
      SOURCE_DATE_EPOCH: '1700000000',
      COMMAND_TIMEOUT: '0',
      REGISTRY_MIRRORS: 'docker.io=harbor.example.com/dockerhub',
      INSECURE_REGISTRIES: 'harbor.example.com',
      PACKAGE_MIRRORS: 'http://mirror.centos.org/centos=https://nexus.example.com/centos',
      ALLOW_UNPINNED_IMAGES: 'true',
      IMAGE_BUILDER: 'docker',
      IMAGE_PULL_CONNECTIONS: '8',
      RPM_BUILDER: 'podman',
      RPM_BUILDER_IMAGE: 'centos:7.9',
      RPM_SIGN_KEY: 'builder@example.com',
      GNUPGHOME: '/g',
      ISO_SIGN_KEY: 'iso@example.com',
      ISO_ROOT_STRAYS: 'fail',
      ISO_VERIFY_PATH: 'x.iso',
      VAGRANT_MEMORY: '2048',
      VAGRANT_CPUS: '4',
      VAGRANT_NODES: '0',
    });
    expect(s).toMatchObject({
      projectName: 'Other-K8s_1.0',
      sources: 'site',
      sourceDateEpoch: 1_700_000_000,
      commandTimeoutMs: 0,
      allowUnpinnedImages: true,
      imageBuilder: 'docker',
      imagePullConnections: 8,
      rpmBuilder: 'podman',
      rpmBuilderImage: 'centos:7.9',
      rpmSignKey: 'builder@example.com',
      gnupgHome: '/g',
      isoSignKey: 'iso@example.com',
      isoRootStrays: 'fail',
      isoVerifyPath: 'x.iso',
      vagrant: { memoryMiB: 2048, cpus: 4, nodes: 0 },
    });
    expect(s.mirrors.registryMirrors).toEqual([
      { upstream: 'docker.io', host: 'harbor.example.com', pathPrefix: 'dockerhub' },
    ]);
    expect(s.mirrors.insecureRegistries).toEqual(['harbor.example.com']);
    expect(s.mirrors.packageMirrors).toHaveLength(1);
  });

  it.each([
    [
      { PROJECT_NAME: 'Metal K8s' },
      "PROJECT_NAME 'Metal K8s' must match [A-Za-z0-9._-]+",
      /pick a plain name/,
    ],
    [
      { SOURCES: 'foo' },
      'SOURCES=foo is not one of embedded, upstream, site',
      /fix SOURCES in \.env/,
    ],
    [
      { SOURCE_DATE_EPOCH: 'yesterday' },
      "SOURCE_DATE_EPOCH='yesterday' is not a whole number of seconds from 0 to 4294967295",
      /SOURCE_DATE_EPOCH to an integer/,
    ],
    [
      { SOURCE_DATE_EPOCH: '4294967296' },
      "SOURCE_DATE_EPOCH='4294967296' is not a whole number of seconds",
      /leave it empty/,
    ],
    [
      { COMMAND_TIMEOUT: '1h' },
      'COMMAND_TIMEOUT=1h is not a whole number of seconds from 0 to 2147483',
      /0 = no limit/,
    ],
    [
      { REGISTRY_MIRRORS: 'garbage' },
      "REGISTRY_MIRRORS: 'garbage' is not upstream=mirror",
      /Fix REGISTRY_MIRRORS in \.env/,
    ],
    [
      { INSECURE_REGISTRIES: 'http://x' },
      "INSECURE_REGISTRIES: 'http://x' is not a host[:port]",
      /Fix INSECURE_REGISTRIES/,
    ],
    [
      { PACKAGE_MIRRORS: 'nope' },
      "PACKAGE_MIRRORS: 'nope' is not upstream-URL-prefix=mirror-URL-prefix",
      /Fix PACKAGE_MIRRORS/,
    ],
    [
      { ALLOW_UNPINNED_IMAGES: 'yes' },
      'ALLOW_UNPINNED_IMAGES=yes is not true or false',
      /true or false/,
    ],
    [
      { IMAGE_BUILDER: 'foo' },
      'IMAGE_BUILDER=foo is not buildah, podman or docker',
      /buildah \(default\), podman or docker/,
    ],
    [
      { IMAGE_PULL_CONNECTIONS: 'many' },
      'IMAGE_PULL_CONNECTIONS=many is not a positive integer',
      /default 4/,
    ],
    [
      { IMAGE_PULL_CONNECTIONS: '0' },
      'IMAGE_PULL_CONNECTIONS=0 is not a positive integer',
      /default 4/,
    ],
    [
      { RPM_BUILDER: 'mock' },
      "RPM_BUILDER='mock' is not one of local, docker, podman",
      /RPM_BUILDER=local/,
    ],
    [
      { ISO_ROOT_STRAYS: 'foo' },
      'ISO_ROOT_STRAYS=foo is not remove or fail',
      /remove \(default\) or fail/,
    ],
    [
      { VAGRANT_MEMORY: '4G' },
      'VAGRANT_MEMORY=4G is not a whole number',
      /VAGRANT_MEMORY to e\.g\. 4096/,
    ],
    [{ VAGRANT_CPUS: '-1' }, 'VAGRANT_CPUS=-1 is not a whole number', /e\.g\. 2/],
    [{ VAGRANT_NODES: 'x' }, 'VAGRANT_NODES=x is not a whole number', /e\.g\. 9/],
  ])('%o: invalid-env with the message and a hint', (values, message, hint) => {
    const err = failure(values);
    expect(err.reason).toBe('invalid-env');
    expect(err.message.startsWith(message), err.message).toBe(true);
    expect(err.hint ?? '').toMatch(hint);
  });
});
