/**
 * The Salt stand-in's repository templates rendered as MetalK8s 2.4 renders them (plain Jinja,
 * python3-jinja2) and through our states (salt-apply.py, with Salt's `raise`): the 2.4 context
 * contract, our own states' context, and every value nginx could not carry refused by name.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registryNaming } from '../../buildchain/tasks/images/write-registry-config.ts';
import { type JinjaRenderResult, missingJinja, tryRenderJinjaFile } from '../helpers/jinja.ts';
import { makeTempDir, type TempDir } from '../helpers/tmp.ts';

const REPO = path.resolve(import.meta.dirname, '../..');
const SALT = path.join(REPO, 'salt');
const TEMPLATE = path.join(SALT, 'metalk8s/repo/files/metalk8s-registry-config.inc.j2');
const SALT_APPLY = path.join(REPO, 'test/helpers/salt-apply.py');
const hasJinja = missingJinja(['yaml']).length === 0;

/** Renders with plain Jinja (no Salt), from the Salt tree, lenient as 2.4's own rendering. */
function render(template: string, context: Record<string, unknown>): Promise<JinjaRenderResult> {
  return tryRenderJinjaFile(template, context, { root: SALT, strict: false });
}

const archive = (env: string, p = `/srv/scality/${env}`): Record<string, unknown> => ({
  [env]: { name: 'MetalK8s', version: env.replace('metalk8s-', ''), path: p, iso: null },
});

describe.skipIf(!hasJinja)('Salt repository templates', () => {
  let tmp: TempDir;
  beforeAll(async () => {
    tmp = await makeTempDir('salt-templates-');
  });
  afterAll(async () => {
    await tmp.cleanup();
  });

  /** The text of a rendering expected to succeed. */
  async function rendered(context: Record<string, unknown>): Promise<string> {
    const r = await render(TEMPLATE, context);
    if (!r.ok) throw new Error(`rendering failed: ${r.error}`);
    return r.text;
  }

  it("renders 2.4's context (archives: env -> {name, version, path, iso}) as one root per archive", async () => {
    const text = await rendered({
      archives: {
        ...archive('metalk8s-2.4.0-beta1'),
        ...archive('metalk8s-2.3.0', '/mnt/iso-2.3/'),
      },
      // Salt always passes saltenv too: archives wins.
      saltenv: 'metalk8s-2.4.0-beta1',
    });
    expect(text).toBe(
      "# Managed by Salt (metalk8s.repo): where the registry includes find each archive's images.\n" +
        'set $metalk8s_2_3_0_images "/mnt/iso-2.3/images/";\n' +
        'set $metalk8s_2_4_0_beta1_images "/srv/scality/metalk8s-2.4.0-beta1/images/";\n',
    );
    // The variable each version's metalk8s-registry.inc uses as its root (images:registry-config).
    expect(text).toContain(`set ${registryNaming('MetalK8s', '2.4.0-beta1').serverRoot} "`);
    // An archive without path: mounted at /srv/scality/<env>.
    expect(await rendered({ archives: { 'example-1.0.0': {} } })).toContain(
      'set $example_1_0_0_images "/srv/scality/example-1.0.0/images/";',
    );
  });

  it('still accepts the older context of our states (saltenv, images_root)', async () => {
    const text = await rendered({
      saltenv: 'metalk8s-2.4.0',
      images_root: '/srv/scality/metalk8s-2.4.0/images',
    });
    expect(text).toContain('set $metalk8s_2_4_0_images "/srv/scality/metalk8s-2.4.0/images/";');
  });

  it.each([
    ['an env name ending the directive', archive('metalk8s-2.4.0"; evil'), '"; evil" holds "'],
    ['an uppercase env name', archive('MetalK8s-2.4.0'), 'archive name "MetalK8s-2.4.0" holds "M"'],
    ['an empty env name', { '': { path: '/srv/x' } }, 'archive name is empty'],
    [
      'a path with an nginx variable',
      archive('metalk8s-2.4.0', '/srv/$host'),
      'holds "$", which the nginx config cannot carry',
    ],
    ['a path with a line break', archive('metalk8s-2.4.0', '/srv/a\nb'), 'b/images" holds "'],
    [
      'a relative path',
      archive('metalk8s-2.4.0', 'srv/x'),
      '"srv/x/images" is not an absolute path',
    ],
  ])('refuses %s, naming it (plain Jinja)', async (_what, archives, message) => {
    const r = await render(TEMPLATE, { archives });
    expect(r).toEqual({ ok: false, error: expect.stringContaining(message) as string });
  });

  /** Applies deployed.sls of this repository's Salt tree with `pillar`; host root in tmp. */
  function applyDeployed(
    name: string,
    pillar: Record<string, unknown>,
  ): { code: number; err: string; host: string } {
    const host = path.join(tmp.path, name);
    const r = spawnSync(
      'python3',
      [
        SALT_APPLY,
        SALT,
        'metalk8s/repo/deployed.sls',
        'metalk8s-2.4.0',
        JSON.stringify(pillar),
        host,
      ],
      { encoding: 'utf8' },
    );
    return { code: r.status ?? -1, err: r.stderr, host };
  }

  it("refuses through our states too (Salt's raise), before anything is written", async () => {
    const iso = path.join(tmp.path, 'srv', 'metalk8s-2.4.0');
    await mkdir(path.join(iso, 'salt/metalk8s'), { recursive: true });
    await writeFile(path.join(iso, 'salt/metalk8s/versions.json'), '{"images": {}}');
    const base = { 'metalk8s-2.4.0': { name: 'MetalK8s', version: '2.4.0', path: iso, iso: null } };
    const bad = applyDeployed('bad-env', {
      metalk8s: { archives: { ...base, 'metalk8s-2.3.0;evil': { path: iso } } },
    });
    expect(bad.code).toBe(1);
    expect(bad.err).toContain('error: archive name "metalk8s-2.3.0;evil" holds ";"');
    expect(existsSync(bad.host)).toBe(false);
    const addr = applyDeployed('bad-address', {
      repo: { host: '0.0.0.0; include /etc/*' },
      metalk8s: { archives: base },
    });
    expect(addr.code).toBe(1);
    expect(addr.err).toContain('listening address "0.0.0.0; include /etc/*" holds ";"');
    // A Solution's NAME comes from its (third-party) archive: it never reaches a file name.
    const hostile = path.join(tmp.path, 'hostile-solution');
    await mkdir(hostile, { recursive: true });
    await writeFile(path.join(hostile, 'product.txt'), 'NAME=../../etc/cron.d/x\nVERSION=1.0\n');
    const declared = path.join(tmp.path, 'declared.yaml');
    await writeFile(declared, `archives:\n  - ${hostile}\n`);
    const traversal = applyDeployed('bad-solution-name', {
      metalk8s: { archives: base, solutions: { config: declared } },
    });
    expect(traversal.code).toBe(1);
    expect(traversal.err).toContain('error: Solution env name "../../etc/cron.d/x-1.0" holds "/"');
    expect(existsSync(traversal.host)).toBe(false);
    const config = path.join(tmp.path, 'solutions.yaml');
    await writeFile(config, `archives:\n  - ${path.join(tmp.path, 'gone')}\n`);
    const gone = applyDeployed('bad-solution', {
      metalk8s: { archives: base, solutions: { config } },
    });
    expect(gone.code).toBe(1);
    expect(gone.err).toContain(
      `Solution archive ${path.join(tmp.path, 'gone')} (listed in ${config}): no product.txt`,
    );
    expect(existsSync(gone.host)).toBe(false);
  });
});
