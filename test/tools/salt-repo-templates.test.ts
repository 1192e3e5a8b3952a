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
import { isCI, missingTools } from '../helpers/require-tool.ts';
import { makeTempDir, type TempDir } from '../helpers/tmp.ts';

const REPO = path.resolve(import.meta.dirname, '../..');
const SALT = path.join(REPO, 'salt');
const TEMPLATE = path.join(SALT, 'metalk8s/repo/files/metalk8s-registry-config.inc.j2');
const SALT_APPLY = path.join(REPO, 'test/helpers/salt-apply.py');
const missing = missingTools('python3');
const hasJinja =
  missing.length === 0 && spawnSync('python3', ['-c', 'import jinja2, yaml']).status === 0;
if (!hasJinja && isCI)
  throw new Error('CI=true and python3-jinja2 / python3-yaml missing (run: npm run setup)');

/** Renders with plain Jinja (no Salt): stdout, or the error's message. */
function render(
  template: string,
  context: Record<string, unknown>,
): { code: number; out: string; err: string } {
  const script =
    'import json, sys, jinja2\n' +
    'env = jinja2.Environment(loader=jinja2.FileSystemLoader(sys.argv[2]))\n' +
    'try:\n' +
    '    sys.stdout.write(env.get_template(sys.argv[1]).render(**json.load(sys.stdin)))\n' +
    'except jinja2.TemplateError as e:\n' +
    '    sys.exit(str(e))\n';
  const r = spawnSync('python3', ['-c', script, path.relative(SALT, template), SALT], {
    input: JSON.stringify(context),
    encoding: 'utf8',
  });
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
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

  it("renders 2.4's context (archives: env -> {name, version, path, iso}) as one root per archive", () => {
    const r = render(TEMPLATE, {
      archives: {
        ...archive('metalk8s-2.4.0-beta1'),
        ...archive('metalk8s-2.3.0', '/mnt/iso-2.3/'),
      },
      // Salt always passes saltenv too: archives wins.
      saltenv: 'metalk8s-2.4.0-beta1',
    });
    expect(r.err).toBe('');
    expect(r.out).toBe(
      "# Managed by Salt (metalk8s.repo): where the registry includes find each archive's images.\n" +
        'set $metalk8s_2_3_0_images "/mnt/iso-2.3/images/";\n' +
        'set $metalk8s_2_4_0_beta1_images "/srv/scality/metalk8s-2.4.0-beta1/images/";',
    );
    // The variable each version's metalk8s-registry.inc uses as its root (images:registry-config).
    expect(r.out).toContain(`set ${registryNaming('MetalK8s', '2.4.0-beta1').serverRoot} "`);
    // An archive without path: mounted at /srv/scality/<env>.
    expect(render(TEMPLATE, { archives: { 'example-1.0.0': {} } }).out).toContain(
      'set $example_1_0_0_images "/srv/scality/example-1.0.0/images/";',
    );
  });

  it('still accepts the older context of our states (saltenv, images_root)', () => {
    const r = render(TEMPLATE, {
      saltenv: 'metalk8s-2.4.0',
      images_root: '/srv/scality/metalk8s-2.4.0/images',
    });
    expect(r.out).toContain('set $metalk8s_2_4_0_images "/srv/scality/metalk8s-2.4.0/images/";');
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
  ])('refuses %s, naming it (plain Jinja)', (_what, archives, message) => {
    const r = render(TEMPLATE, { archives });
    expect(r.code).not.toBe(0);
    expect(r.out).toBe('');
    expect(r.err).toContain(message);
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
