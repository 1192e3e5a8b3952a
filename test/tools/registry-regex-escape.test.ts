/**
 * No value reaches an nginx regex location unescaped: a repository prefix `a.b` serves
 * `a.b/…` and not `aXb/…`, a name `my.app` not `myXapp`, for every generator of regex
 * locations: a Solution's `registry-config.inc.j2` (`{{ repository }}` rendered by Jinja at
 * import, as 2.4's Salt does), the platform's include (literal `metalk8s-<version>/` prefix),
 * and static-registry's own format with a `{{ repository }}` prefix. One real nginx as 2.4's
 * repositories pod, the templates rendered with python3-jinja2, and skopeo pulling an image
 * whose name holds a dot through each of them.
 */
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execDirect } from '../../buildchain/engine/exec/run-command.ts';
import type { LoopbackServer } from '../../buildchain/sources/embedded/servers.ts';
import { generateRegistryConfig } from '../../buildchain/tasks/images/nginx-registry-config.ts';
import { scanImagesDir } from '../../buildchain/tasks/images/registry-scan.ts';
import { regexEscape } from '../../buildchain/lib/text/quote.ts';
import { missingJinja, renderJinjaFile } from '../helpers/jinja.ts';
import { missingTools } from '../helpers/require-tool.ts';
import { startTestNginx, stopAll } from '../helpers/servers.ts';
import { makeTempDir, type TempDir } from '../helpers/tmp.ts';
import { writePlatformArchive, writePodConfD, writeSolutionArchive } from '../e2e/node-fixtures.ts';

const missing = [...missingTools('nginx', 'skopeo', 'python3'), ...missingJinja()];
const VERSION = '2.4.0';
const PLATFORM_ENV = `metalk8s-${VERSION}`;
const IMAGE = { name: 'my.app', tag: '1.0' };

/** A served repository: its prefix as clients write it, and the image's first layer digest. */
interface Served {
  readonly what: string;
  readonly prefix: string;
  layer: string;
}

/** `text` with its `n`th dot replaced by `X`. */
function dotToX(text: string, n: number): string {
  let seen = -1;
  return text.replace(/\./g, (dot) => (++seen === n ? 'X' : dot));
}

describe.skipIf(missing.length > 0)('registry: dots in regex locations are literal', () => {
  let tmp: TempDir;
  let nginx: LoopbackServer;
  const served: Served[] = [
    { what: 'Solution registry-config.inc.j2', prefix: 'a.b', layer: '' },
    { what: 'platform include', prefix: PLATFORM_ENV, layer: '' },
    { what: 'static-registry with {{ repository }}', prefix: 'c.d', layer: '' },
  ];

  beforeAll(async () => {
    tmp = await makeTempDir('mk8s-regex-escape-');
    await chmod(tmp.path, 0o755); // nginx workers (nobody) read the layouts
    const srv = path.join(tmp.path, 'srv', 'scality');
    const platform = await writePlatformArchive(srv, VERSION, [IMAGE]);
    const solution = await writeSolutionArchive(srv, 'Example', '1.0.0', [IMAGE]);
    const confD = path.join(tmp.path, 'pod', 'conf.d');
    // conf.d as 2.4's repo states fill it; the Solution rendered with repository=a.b.
    await writePodConfD(confD, {
      archives: {
        [PLATFORM_ENV]: { name: 'MetalK8s', version: VERSION, path: platform, iso: null },
      },
      newest: PLATFORM_ENV,
      solutions: [{ archive: solution.archive, repository: 'a.b' }],
    });
    const solutionImages = path.join(solution.archive, 'images');
    const template = path.join(tmp.path, 'static-registry.inc.j2');
    await writeFile(
      template,
      generateRegistryConfig({
        repos: (await scanImagesDir(solutionImages)).repos,
        namePrefix: '{{ repository }}',
        serverRoot: '{{ registry_root }}',
        constants: 'omit',
      }),
    );
    await writeFile(
      path.join(confD, 'c.d-registry.inc'),
      await renderJinjaFile(template, { repository: 'c.d', registry_root: solutionImages }),
    );
    const layerOf = async (archive: string): Promise<string> => {
      const file = path.join(archive, 'images', IMAGE.name, IMAGE.tag, 'manifest.json');
      const m = JSON.parse(await readFile(file, 'utf8')) as { layers: { digest: string }[] };
      return m.layers[0]?.digest ?? '';
    };
    for (const s of served)
      s.layer = await layerOf(s.prefix === PLATFORM_ENV ? platform : solution.archive);
    nginx = await startTestNginx({
      dir: path.join(tmp.path, 'pod'),
      serverBody: 'include conf.d/*.inc;',
    });
  }, 60_000);

  afterAll(async () => {
    await stopAll();
    await tmp.cleanup();
  });

  async function status(url: string): Promise<number> {
    const res = await fetch(url);
    await res.arrayBuffer();
    return res.status;
  }

  it('serves a blob under its names, not where a dot of the prefix or of the name is another character', async () => {
    for (const s of served) {
      expect(s.layer, s.what).toMatch(/^sha256:[a-f0-9]{64}$/);
      const repo = `${s.prefix}/${IMAGE.name}`;
      const blob = (r: string): string => `http://${nginx.address}/v2/${r}/blobs/${s.layer}`;
      expect(await status(blob(repo)), `${s.what}: ${repo}`).toBe(200);
      const dots = repo.split('.').length - 1;
      expect(dots).toBeGreaterThanOrEqual(2);
      for (let n = 0; n < dots; n++) {
        const other = dotToX(repo, n);
        expect(await status(blob(other)), `${s.what}: ${other}`).toBe(404);
      }
    }
  });

  it('answers an unknown tag with MANIFEST_UNKNOWN only under the served names', async () => {
    for (const s of served) {
      const code = async (repo: string): Promise<string | undefined> => {
        const res = await fetch(`http://${nginx.address}/v2/${repo}/manifests/9.9.9`);
        const body = (await res.json()) as { errors?: { code?: string }[] };
        expect(res.status, `${s.what}: ${repo}`).toBe(404);
        return body.errors?.[0]?.code;
      };
      const repo = `${s.prefix}/${IMAGE.name}`;
      expect(await code(repo), `${s.what}: ${repo}`).toBe('MANIFEST_UNKNOWN');
      const other = dotToX(repo, 0);
      expect(await code(other), `${s.what}: ${other}`).toBe('NAME_UNKNOWN');
    }
  });

  it('skopeo copies the image whose name holds a dot, blobs included, from each include', async () => {
    for (const s of served) {
      const dest = path.join(tmp.path, 'copies', s.prefix);
      await mkdir(dest, { recursive: true });
      const r = await execDirect(
        [
          'skopeo',
          'copy',
          '--src-tls-verify=false',
          `docker://${nginx.address}/${s.prefix}/${IMAGE.name}:${IMAGE.tag}`,
          `dir:${dest}`,
        ],
        { reject: false },
      );
      expect(r.exitCode, `${s.what}: ${r.stderr}`).toBe(0);
      await expect(
        readFile(path.join(dest, s.layer.slice('sha256:'.length))),
      ).resolves.toBeDefined();
    }
  });
});

/** What nginx reads from the inside of a double-quoted token: `\"`, `\'` and `\\` unescaped. */
function nginxUnquote(inner: string): string {
  return inner.replace(/\\(["'\\])/g, '$1');
}

describe.skipIf(missingJinja().length > 0)('regexEscape of a Jinja value (python3-jinja2)', () => {
  it('renders any value, metacharacters, quotes and backslashes included, as a pattern matching it alone', async () => {
    const tmp = await makeTempDir('mk8s-regex-jinja-');
    try {
      const chars = 'ab.^$|?*+()[]{}\\"\'/-_ 1'.split('');
      const values = fc.sample(
        fc.array(fc.constantFrom(...chars), { minLength: 1, maxLength: 10 }).map((a) => a.join('')),
        { numRuns: 300, seed: 42 },
      );
      values.push('a.b', 'example-1.0.0', '\\"', '"\\', '$host');
      const template = path.join(tmp.path, 'patterns.j2');
      // One line per value, as a regex location holds it: ^/v2/<value>/x$ inside "...".
      await writeFile(
        template,
        `{% for repository in values %}${regexEscape('/v2/{{ repository }}/x')}\n{% endfor %}`,
      );
      const lines = (await renderJinjaFile(template, { values })).split('\n').slice(0, -1);
      expect(lines).toHaveLength(values.length);
      values.forEach((value, i) => {
        const inner = lines[i] ?? '';
        // It stays one nginx quoted string: no unescaped '"' ends it early.
        expect(inner.replace(/\\./g, '')).not.toContain('"');
        const re = new RegExp(`^${nginxUnquote(inner)}$`);
        expect(re.test(`/v2/${value}/x`), JSON.stringify(value)).toBe(true);
        for (let at = 0; at < value.length; at++) {
          const other = `${value.slice(0, at)}Z${value.slice(at + 1)}`;
          expect(re.test(`/v2/${other}/x`), `${JSON.stringify(value)} vs ${other}`).toBe(false);
        }
      });
    } finally {
      await tmp.cleanup();
    }
  });
});
