/**
 * argv builders for local image builds (pure): buildah (default), podman or docker, then the
 * export to an OCI layout and to a v2s2 `dir:` layout with skopeo.
 */
import { requireRepositoryName, requireTag } from '../../lib/text/quote.ts';

/** Which program builds local images (IMAGE_BUILDER). */
export type ImageBuilder = 'buildah' | 'podman' | 'docker';

/** Inputs of {@link buildArgv}. */
export interface BuildArgvOptions {
  readonly builder: ImageBuilder;
  readonly bin: string;
  /** Private storage (buildah/podman): `--root`, `--runroot`. */
  readonly storageRoot: string;
  readonly runRoot: string;
  /** Image reference to tag, e.g. `localhost/metalk8s-build/keepalived:1.3.5-16.el7-1`. */
  readonly tag: string;
  /** Absolute Containerfile path. */
  readonly file: string;
  /** Absolute context directory. */
  readonly context: string;
  readonly args: Readonly<Record<string, string>>;
}

/** Global storage flags of buildah/podman (private store, vfs). */
export function storageFlags(root: string, runRoot: string): string[] {
  return ['--root', root, '--runroot', runRoot, '--storage-driver', 'vfs'];
}

function buildArgFlags(args: Readonly<Record<string, string>>): string[] {
  return Object.keys(args)
    .sort()
    .flatMap((k) => ['--build-arg', `${k}=${args[k] ?? ''}`]);
}

/** The build command (reproducible: `--timestamp 0` for buildah/podman). */
export function buildArgv(o: BuildArgvOptions): string[] {
  if (o.builder === 'docker') {
    return [o.bin, 'build', '--force-rm', '-f', o.file, '-t', o.tag, ...buildArgFlags(o.args), o.context];
  }
  const verb = o.builder === 'buildah' ? 'bud' : 'build';
  return [
    o.bin,
    ...storageFlags(o.storageRoot, o.runRoot),
    verb,
    '--isolation',
    'chroot',
    '--timestamp',
    '0',
    '-f',
    o.file,
    '-t',
    o.tag,
    ...buildArgFlags(o.args),
    o.context,
  ];
}

/** Exports the built image to an OCI layout (`oci:<dir>:<ref>`), or copies it from docker. */
export function exportArgv(
  o: Pick<BuildArgvOptions, 'builder' | 'bin' | 'storageRoot' | 'runRoot' | 'tag'>,
  ociDir: string,
  skopeoBin: string,
): string[] {
  if (o.builder === 'docker') return [skopeoBin, 'copy', '-q', `docker-daemon:${o.tag}`, `oci:${ociDir}:image`];
  return [o.bin, ...storageFlags(o.storageRoot, o.runRoot), 'push', '-q', o.tag, `oci:${ociDir}:image`];
}

/** Converts the OCI layout to a v2s2 `dir:` layout (as MetalK8s serves it). */
export function toDirArgv(skopeoBin: string, ociDir: string, dirOut: string): string[] {
  return [skopeoBin, 'copy', '-q', '--format', 'v2s2', '--dest-compress', `oci:${ociDir}:image`, `dir:${dirOut}`];
}

/**
 * Files of a stand-in build context (FROM scratch) used when the real base images cannot be
 * reached (SOURCES=embedded): the image keeps its name and tag, and says what it stands for.
 * `inputs` (hex sha256 of the real context, Containerfile and build args, see
 * `buildInputsDigest`) goes into the image, so that any change to the real inputs changes the
 * stand-in too and reaches the ISO (without it, an edited context rebuilt the same image).
 */
export function standInContext(name: string, version: string, inputs?: string): Record<string, string> {
  // Written into a Containerfile (a comment and a double-quoted LABEL, where '$' expands): only
  // names and tags of the distribution grammar, which need no quoting there.
  requireRepositoryName(name, 'image name');
  requireTag(version, `version of image ${name}`);
  if (inputs !== undefined && !/^[0-9a-f]{64}$/.test(inputs)) {
    throw new Error(`stand-in inputs digest of image ${name}: expected 64 hex digits, got ${JSON.stringify(inputs)}`);
  }
  const inputsLabel = inputs === undefined ? '' : ` com.scality.metalk8s.stand-in.inputs="sha256:${inputs}"`;
  return {
    Containerfile: [
      `# Stand-in for ${name}:${version} (SOURCES=embedded): its upstream bases are not reachable offline.`,
      'FROM scratch',
      'COPY stand-in.txt /stand-in.txt',
      `LABEL org.opencontainers.image.title="${name}" org.opencontainers.image.version="${version}" com.scality.metalk8s.stand-in="true"${inputsLabel}`,
      '',
    ].join('\n'),
    'stand-in.txt':
      `stand-in image for ${name}:${version}; build with SOURCES=upstream or site for the real one\n` +
      (inputs === undefined ? '' : `real build inputs (context files, Containerfile, build args): sha256:${inputs}\n`),
  };
}

/** A registry mirror as the builder needs it (see `REGISTRY_MIRRORS`). */
export interface BuilderMirror {
  readonly upstream: string;
  /** `host[:port][/prefix]`. */
  readonly location: string;
  readonly insecure: boolean;
}

/**
 * A containers-registries.conf(5) (v2) routing base-image pulls of buildah/podman through the
 * mirrors (pure). Passed with CONTAINERS_REGISTRIES_CONF; empty mirrors give an empty string.
 */
export function registriesConf(mirrors: readonly BuilderMirror[]): string {
  if (mirrors.length === 0) return '';
  const blocks = [...mirrors]
    .sort((a, b) => (a.upstream < b.upstream ? -1 : 1))
    .map((m) =>
      [
        '[[registry]]',
        `location = ${JSON.stringify(m.upstream)}`,
        '[[registry.mirror]]',
        `location = ${JSON.stringify(m.location)}`,
        `insecure = ${String(m.insecure)}`,
        '',
      ].join('\n'),
    );
  return ['# Generated by metalk8s-buildchain from REGISTRY_MIRRORS / INSECURE_REGISTRIES.', 'unqualified-search-registries = ["docker.io"]', '', ...blocks].join('\n');
}
