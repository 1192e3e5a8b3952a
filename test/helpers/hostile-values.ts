/**
 * fast-check arbitraries of hostile and ordinary values (names, tags, paths) for the generator
 * property tests, and what a generated registry config must hold for given inputs.
 */
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { expect } from 'vitest';
import { TaskError } from '../../buildchain/engine/task.ts';
import { MEDIA_DOCKER_MANIFEST } from '../../buildchain/lib/oci/manifest.ts';
import { generateRegistryConfig } from '../../buildchain/tasks/images/nginx-registry-config.ts';
import type { ScannedRepo } from '../../buildchain/tasks/images/registry-scan.ts';
import { nginxLocations } from './nginx-tokens.ts';

// Under CI the properties run with a fixed seed (a red CI must be reproducible, not a draw);
// on a workstation every run draws new values, which is how new counterexamples are found.
// FC_SEED=N replays a run.
const seedFromEnv = process.env.FC_SEED ?? (process.env.CI === 'true' ? '20261130' : undefined);
if (seedFromEnv !== undefined) fc.configureGlobal({ seed: Number(seedFromEnv) });

/** Pieces that break out of one language or another. */
export const HOSTILE_PIECES = [
  '"',
  "'",
  '\\',
  ';',
  '{',
  '}',
  '{{',
  '}}',
  '$',
  '$host',
  '${x}',
  '%',
  '%{x}',
  '%(touch CANARY)',
  '`touch CANARY`',
  '$(touch CANARY)',
  '\n',
  '\r',
  '\t',
  ' ',
  '#',
  '/',
  '.',
  '..',
  '-',
  '_',
  '__',
  'é',
  '日本',
  '\u2028',
  '\u0000',
  '\u007f',
  'location',
  '~',
  '^',
  '*',
  '(',
  ')',
  '[',
  ']',
  '|',
  '?',
  '+',
  ':',
  '@',
  '=',
  ',',
  '{{ repository }}',
  '{{ x | y }}',
  '";} location ~ ^/injected { return 200 "injected"; } #',
] as const;

/** Short strings mixing hostile pieces, plain words and arbitrary unicode. */
export const messy: fc.Arbitrary<string> = fc
  .array(
    fc.oneof(
      fc.constantFrom(...HOSTILE_PIECES),
      fc.stringMatching(/^[a-z0-9]{1,5}$/),
      fc.string({ unit: 'binary', maxLength: 3 }),
    ),
    { minLength: 1, maxLength: 6 },
  )
  .map((a) => a.join(''));

/** A value valid in the distribution grammar most of the time, hostile otherwise. */
export const nameLike: fc.Arbitrary<string> = fc.oneof(
  { arbitrary: fc.stringMatching(/^[a-z0-9]{1,6}(?:[._-][a-z0-9]{1,4}){0,2}$/), weight: 6 },
  { arbitrary: messy, weight: 1 },
);
export const tagLike: fc.Arbitrary<string> = fc.oneof(
  { arbitrary: fc.stringMatching(/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,8}$/), weight: 6 },
  { arbitrary: messy, weight: 1 },
);

/** An absolute path with hostile components, or an nginx variable / Jinja piece. */
export const rootLike: fc.Arbitrary<string> = fc.oneof(
  fc
    .array(fc.oneof(messy, fc.stringMatching(/^[a-z]{1,6}$/)), { minLength: 1, maxLength: 3 })
    .map((a) => `/${a.join('/')}`),
  fc.constantFrom('$images_a', '${images_b}/x', '{{ registry_root }}', '/srv/images/'),
);

export const prefixLike: fc.Arbitrary<string> = fc.oneof(
  { arbitrary: fc.constantFrom('', 'metalk8s-2.4.0', '/a/b/', '{{ repository }}'), weight: 2 },
  { arbitrary: nameLike, weight: 1 },
);

function digestOf(text: string): string {
  return `sha256:${createHash('sha256').update(text).digest('hex')}`;
}

/** Repositories (distinct names, distinct tags) for the images generator. */
export const reposArb: fc.Arbitrary<ScannedRepo[]> = fc
  .uniqueArray(
    fc.record({ name: nameLike, tags: fc.uniqueArray(tagLike, { minLength: 1, maxLength: 3 }) }),
    {
      selector: (r) => r.name,
      maxLength: 3,
    },
  )
  .map((repos) =>
    repos.map((r) => ({
      name: r.name,
      tags: r.tags.map((tag) => ({
        tag,
        // Two tags of one repository share a digest when their first letters match: both kinds.
        manifest: {
          digest: digestOf(`${r.name}:${tag.slice(0, 1)}`),
          mediaType: MEDIA_DOCKER_MANIFEST,
          file: 'manifest.json',
        },
        instances: [],
      })),
    })),
  );

/** Number of `location` blocks the images generator writes (constants and catalog included). */
export function expectedLocationCount(
  repos: readonly ScannedRepo[],
  mode: 'include' | 'omit',
): number {
  // Constants: /v2, = /v2/, /v2/, _catalog and the named @registry_manifest_unknown,
  // @registry_blob_unknown and @404_tag (COMMON_NAMED_LOCATIONS).
  let n = mode === 'include' ? 7 : 0;
  for (const r of repos)
    n += 1 + r.tags.length + new Set(r.tags.map((t) => t.manifest.digest)).size + 2;
  return n;
}

/** True when `err` is the clear refusal the generators give: invalid-input, naming `value`. */
/** An argument tuple of the registry-config properties: repos, name prefix, server root, mode. */
export const registryConfigArgs = fc.tuple(
  reposArb,
  prefixLike,
  rootLike,
  fc.constantFrom('include' as const, 'omit' as const),
);

/**
 * The images generator's config for one drawn tuple, or undefined when it refused the values
 * (asserting the refusal is a clear one, naming what it refused); when it accepts them, the
 * config holds exactly the expected locations.
 */
export function registryConfigOrRefusal([repos, prefix, root, mode]: [
  ScannedRepo[],
  string,
  string,
  'include' | 'omit',
]): string | undefined {
  let conf: string;
  try {
    conf = generateRegistryConfig({ repos, namePrefix: prefix, serverRoot: root, constants: mode });
  } catch (err) {
    expect(
      isClearRefusal(err, ['image name', 'tag of', 'name prefix', 'server root', 'repository']),
    ).toBe(true);
    return undefined;
  }
  expect(nginxLocations(conf)).toHaveLength(expectedLocationCount(repos, mode));
  return conf;
}

export function isClearRefusal(err: unknown, names: readonly string[]): boolean {
  return (
    err instanceof TaskError &&
    err.reason === 'invalid-input' &&
    names.some((n) => err.message.includes(n)) &&
    (err.hint ?? '') !== ''
  );
}
