import { describe, expect, it } from 'vitest';
import type { TaskDefinition } from '../../buildchain/engine/task.ts';
import { expectedTree, findStrays } from '../../buildchain/tasks/iso-root/expected.ts';
import { renderTemplate } from '../../buildchain/lib/text/at-template.ts';
import { parseSaltManifest, unshippedSaltFiles } from '../../buildchain/tasks/salt/manifest.ts';

const tasks: TaskDefinition[] = [
  { name: 'a', targets: ['/b/root/product.txt', '/b/root/salt/top.sls', '/b/other.iso'] },
  { name: 'images', targets: ['/b/root/images'] },
  { name: 'rel', targets: ['_build/root/packages/redhat/metalk8s-base-el7'] },
  { name: 'pull:x', targets: ['/b/root/layouts/x/1/manifest.json'] },
  { name: 'ex', targets: ['/b/root/examples/new-node.yaml'] },
];

describe('ISO root expected set', () => {
  const expected = expectedTree(tasks, '/b/root', '/b');
  const rel = expectedTree(tasks, '/repo/_build/root', '/repo');

  it('keeps targets, their ancestors and the content of directory targets', () => {
    const entries = [
      'product.txt',
      'salt',
      'salt/top.sls',
      'images',
      'images/x',
      'images/x/1/manifest.json',
    ];
    expect(findStrays(entries, expected)).toEqual([]);
  });

  it('reports files and directories no task produced, a directory once', () => {
    const entries = [
      'product.txt',
      'salt',
      'salt/old.sls',
      'junk',
      'junk/a',
      'junk/b',
      'stray.txt',
    ];
    expect(findStrays(entries, expected)).toEqual(['junk', 'salt/old.sls', 'stray.txt']);
  });

  it('lets a task own the layout directory of its only declared file, below the top level', () => {
    const entries = [
      'layouts',
      'layouts/x',
      'layouts/x/1',
      'layouts/x/1/manifest.json',
      'layouts/x/1/abc123',
      'layouts/x/2',
    ];
    expect(findStrays(entries, expected)).toEqual(['layouts/x/2']);
    expect(
      findStrays(['examples', 'examples/new-node.yaml', 'examples/junk.yaml'], expected),
    ).toEqual(['examples/junk.yaml']);
  });

  it('ignores targets outside the ISO root and resolves relative ones', () => {
    expect(expected.targets.has('../other.iso')).toBe(false);
    expect(
      findStrays(['packages', 'packages/redhat', 'packages/redhat/metalk8s-base-el7/x.rpm'], rel),
    ).toEqual([]);
  });
});

describe('@@ templates', () => {
  it('substitutes @@NAME and @@{NAME}, keeps @@@@ as @@', () => {
    expect(renderTemplate('v=@@VERSION x@@{VERSION}y @@@@', { VERSION: '2.4' }, 't')).toBe(
      'v=2.4 x2.4y @@',
    );
  });

  it('fails on an unknown placeholder, naming the file', () => {
    expect(() => renderTemplate('@@NOPE', { VERSION: '1' }, 'scripts/x.in')).toThrow(
      /scripts\/x.in: unknown placeholder @@NOPE/,
    );
  });
});

describe('salt/MANIFEST', () => {
  it('maps salt/ and pillar/ paths and templates', () => {
    const files = parseSaltManifest('# c\ntop.sls.in\npillar/top.sls.in\nmetalk8s/a.sls  # x\n');
    expect(files).toEqual([
      { source: 'salt/top.sls.in', dest: 'salt/top.sls', template: true },
      { source: 'salt/pillar/top.sls.in', dest: 'pillar/top.sls', template: true },
      { source: 'salt/metalk8s/a.sls', dest: 'salt/metalk8s/a.sls', template: false },
    ]);
    expect(unshippedSaltFiles(['salt/metalk8s/a.sls', 'salt/metalk8s/b.sls'], files)).toEqual([
      'salt/metalk8s/b.sls',
    ]);
  });

  it('rejects paths escaping salt/', () => {
    expect(() => parseSaltManifest('../x')).toThrow(/relative path/);
  });
});
