/** `salt/metalk8s/versions.json` (reference §5.2): sorted keys, indent 2, no final newline. */
import type { ImageEntry, PackageList } from '../../config/content-types.ts';

/** Inputs of versions.json. */
export interface VersionsInput {
  /** Product version, e.g. `2.4.0-beta1`. */
  readonly version: string;
  readonly images: readonly ImageEntry[];
  readonly packages: PackageList;
  /** `<version>-<release>` of locally built packages the list does not pin, by name. */
  readonly builtVersions?: Readonly<Record<string, string>>;
}

/** Kubernetes version: the pinned kubelet package, else the kube-apiserver image tag. */
export function kubernetesVersion(input: VersionsInput): string | null {
  const kubelet = input.packages.packages.find((p) => p.name === 'kubelet')?.version;
  if (kubelet !== undefined) return kubelet;
  const api = input.images.find((i) => i.name === 'kube-apiserver')?.version;
  return api === undefined ? null : api.replace(/^v/, '');
}

/** JSON.stringify with object keys sorted at every level. */
export function stableStringify(value: unknown, indent = 2): string {
  const sort = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(sort);
    if (v !== null && typeof v === 'object') {
      return Object.fromEntries(
        Object.entries(v as Record<string, unknown>)
          .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
          .map(([k, x]) => [k, sort(x)]),
      );
    }
    return v;
  };
  return JSON.stringify(sort(value), null, indent);
}

/** The document. */
export function renderVersionsJson(input: VersionsInput): string {
  const images: Record<string, { version: string }> = {};
  for (const i of input.images) images[i.name] = { version: i.version };
  const packages: Record<string, { version: string | null }> = {};
  for (const p of input.packages.packages) {
    const full =
      p.version === undefined
        ? (input.builtVersions?.[p.name] ?? null)
        : p.release === undefined
          ? p.version
          : `${p.version}-${p.release}`;
    packages[p.name] = { version: full };
  }
  return stableStringify({
    images,
    kubernetes: { version: kubernetesVersion(input) },
    metalk8s: { version: input.version },
    packages,
  });
}
