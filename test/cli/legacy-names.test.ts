/**
 * MetalK8s 2.4's task names on this repository's real task graph: they resolve as aliases
 * (exact, wildcards, 2.4.4's `/` spellings), `list --all` shows them, retired ones exit 2 with
 * why, and every name the CLI suggests (help text, "did you mean") works.
 */
import { describe, expect, it } from 'vitest';
import { HELP } from '../../buildchain/cli/help.ts';
import { legacyAliases } from '../../buildchain/cli/legacy-names.ts';
import { TaskGraph } from '../../buildchain/engine/graph.ts';
import { parseNdjson } from '../helpers/ndjson.ts';
import { runCliHere, shellEnv } from '../helpers/run-cli.ts';
import { REPO_ROOT } from '../helpers/workspace.ts';

const cli = (args: string[], console = false) =>
  runCliHere(REPO_ROOT, args, { env: shellEnv(), console });

/** The tasks a dry run of `spelling` would evaluate (dependencies included). */
async function selected(spelling: string): Promise<string[]> {
  const r = await cli(['--dry-run', spelling]);
  expect(r.code, r.stderr).toBe(0);
  return r.events.filter((e) => e.event === 'skip').map((e) => e.task ?? '');
}

describe('MetalK8s 2.4 task names', () => {
  it('resolve to our tasks: exact names, wildcards over aliases, 2.4.4 spellings', async () => {
    expect(await selected('_build_packages:calico-cni-plugin:pkg_srpm')).toContain(
      'packaging:srpm:calico-cni-plugin',
    );
    const pulls = await selected('_image_pull:*');
    expect(pulls).toContain('images:pull:calico-node');
    expect(pulls.filter((t) => t.startsWith('images:pull:')).length).toBeGreaterThanOrEqual(20);
    expect(await selected('_deploy_salt_tree:*')).toEqual(
      expect.arrayContaining(['salt:copy', 'salt:render', 'salt:versions', 'salt_tree']),
    );
    expect(await selected('_deploy_salt_tree:salt/top.sls')).toContain('salt:render');
    expect(await selected('_build_rpm_repositories:scality/build_rpm/calico-cni-plugin')).toContain(
      'packaging:rpm:calico-cni-plugin',
    );
    const srpms = await selected('_build_rpm_packages:*:pkg_srpm');
    expect(srpms).toEqual(
      expect.arrayContaining([
        'packaging:srpm:calico-cni-plugin',
        'packaging:srpm:metalk8s-sosreport',
      ]),
    );
  });

  it('list --all shows them with what they stand for', async () => {
    const listed = parseNdjson((await cli(['list', '--all'])).stdout);
    const alias = listed.find((e) => e.name === '_image_pull:calico-node');
    expect(alias).toMatchObject({ alias: ['images:pull:calico-node'] });
    expect(alias?.doc).toContain('MetalK8s 2.4 name');
    const plain = parseNdjson((await cli(['list'])).stdout).map((e) => e.name);
    expect(plain).not.toContain('_image_pull');
  });

  it('a retired 2.4 name exits 2 saying why; nothing runs', async () => {
    const r = await cli(['check_for:skopeo'], true);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('error: unknown task: check_for:skopeo');
    expect(r.stderr).toContain('hint: each task checks its tools before anything runs');
    const deb = await cli(['_build_deb_packages:calico-cni-plugin:pkg_mkdir'], true);
    expect(deb.stderr).toContain('Debian packages are not built');
  });

  it('every suggestion of an unknown name works', async () => {
    const r = await cli(['_build_pakages:calico-cni-plugin:pkg_srpm'], true);
    expect(r.code).toBe(2);
    const hint = /did you mean (.*)\?/.exec(r.stderr)?.[1];
    expect(hint).toBeDefined();
    for (const name of (hint ?? '').split(', ')) expect(await selected(name)).not.toEqual([]);
  });

  it('every task example of the help text works', async () => {
    const examples = [...HELP.matchAll(/'([^']+)'|\b(_[a-z_]+:[a-z-]+)\b/g)].map(
      (m) => m[1] ?? m[2] ?? '',
    );
    expect(examples).toEqual(
      expect.arrayContaining(['images:pull:calico*', '_build_rpm_packages:calico*:*']),
    );
    for (const e of examples) expect(await selected(e)).not.toEqual([]);
    for (const e of [
      'images:pull:calico-node',
      'images/pull/calico-node',
      '_image_pull:calico-node',
    ])
      expect(await selected(e)).toContain('images:pull:calico-node');
  });
});

describe('legacyAliases', () => {
  it('only aliases tasks that exist; a task of the same name wins', () => {
    const defs = ['images:pull:x', '_image_pull:x', 'iso-root:scripts'].map((name) => ({
      name,
      actions: [{ kind: 'command' as const, argv: ['true'] }],
    }));
    const graph = new TaskGraph('/r', defs);
    const aliases = legacyAliases([...graph.nodes.keys()]);
    expect(aliases.map((a) => a.name)).not.toContain('_image_build');
    graph.addAliases(() => aliases);
    expect(graph.resolve('_image_pull:x')).toEqual(['_image_pull:x']);
    expect(graph.resolve('_iso_render_bootstrap')).toEqual(['iso-root:scripts']);
    expect(graph.resolve('_image_pull')).toEqual(['images:pull:x']);
  });

  it('are computed only when a name is not a task (a no-op build of iso pays nothing)', () => {
    const graph = new TaskGraph('/r', [
      { name: 'iso', actions: [{ kind: 'command', argv: ['true'] }] },
      { name: 'images:pull:x', actions: [{ kind: 'command', argv: ['true'] }] },
    ]);
    let calls = 0;
    graph.addAliases(() => {
      calls++;
      return legacyAliases([...graph.nodes.keys()]);
    });
    expect(graph.select(['iso'])).toEqual(['iso']);
    expect(calls).toBe(0);
    expect(graph.select(['_image_pull:*'])).toEqual(['images:pull:x']);
    expect(graph.select(['_image_pull'])).toEqual(['images:pull:x']);
    expect(calls).toBe(1);
  });
});
