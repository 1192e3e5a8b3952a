/** `images: auto`: the image list completed from the manifests' references (pure). */
import { describe, expect, it } from 'vitest';
import { withAutoImages } from '../../buildchain/tasks/solution/config/auto-images.ts';
import {
  parseSolutionConfig,
  type SolutionConfig,
} from '../../buildchain/tasks/solution/config/solution-config.ts';
import { BASE_SOLUTION_CONFIG } from '../helpers/solution-config.ts';

const base: SolutionConfig = { ...BASE_SOLUTION_CONFIG, imagesAuto: true };
const ref = (image: string, tag: string, kind = 'archive', digest?: string) => ({
  image,
  tag,
  file: 'operator/deploy/operator.yaml',
  where: `Deployment/op container ${image}`,
  kind,
  ...(digest !== undefined ? { digest } : {}),
});

describe('images: auto', () => {
  it('parses `images: auto` as an empty list to complete, and refuses other scalars', () => {
    const yaml = (images: string): string =>
      `name: Example\nversion: 1.0.0\nrequireMetalK8s: ">=2.4.0"\nimages: ${images}\n`;
    const auto = parseSolutionConfig(yaml('auto'));
    expect(auto.problems).toEqual([]);
    expect(auto.config?.imagesAuto).toBe(true);
    expect(auto.config?.images).toEqual([]);
    const bad = parseSolutionConfig(yaml('automatic'));
    expect(bad.problems.map((p) => p.message)).toEqual(['images is neither a list nor `auto`']);
  });

  it('adds each referenced name:tag once, built from images/<name>/, after the listed ones', () => {
    const listed = {
      ...base,
      images: [
        {
          name: 'remote',
          version: '2.0',
          ship: 'dir' as const,
          platforms: 'linux/amd64' as const,
          source: { registry: 'quay.io', repository: 'x/remote' },
          digest: `sha256:${'a'.repeat(64)}`,
        },
      ],
    };
    const files = new Set(['images/op/Containerfile', 'images/ui/Dockerfile']);
    const r = withAutoImages(
      listed,
      [
        ref('op', '1.0.0'),
        ref('remote', '2.0'),
        ref('op', '1.0.0'),
        ref('ui', '1.0.0', 'bare'),
        ref('quay.io/x/y', '1', 'external'),
        ref('remote', '', 'archive', `sha256:${'b'.repeat(64)}`),
      ],
      files,
    );
    expect(r.problems).toEqual([]);
    expect(
      r.config.images.map((i) => `${i.name}:${i.version} ${i.build?.context ?? 'remote'}`),
    ).toEqual(['remote:2.0 remote', 'op:1.0.0 images/op', 'ui:1.0.0 images/ui']);
  });

  it('a referenced image without a Containerfile, or by digest only, is an error naming the fix', () => {
    const r = withAutoImages(
      base,
      [ref('op', '1.0.0'), ref('db', '', 'bare', `sha256:${'c'.repeat(64)}`)],
      new Set(['images/op/README.md']),
    );
    expect(r.config.images).toEqual([]);
    expect(r.problems.map((p) => [p.code, p.file, p.message, p.fix])).toEqual([
      [
        'image-auto',
        'operator/deploy/operator.yaml',
        'Deployment/op container op: image op:1.0.0 is referenced, but images/op/ has no Containerfile to build it from',
        'add images/op/Containerfile, or list the image in solution.yaml (source and digest for a remote image)',
      ],
      [
        'image-auto',
        'operator/deploy/operator.yaml',
        `Deployment/op container db: db@sha256:${'c'.repeat(64)} names no tag, so images: auto cannot build it`,
        'reference it as db:<tag>, or list it in solution.yaml (source and digest)',
      ],
    ]);
  });
});
