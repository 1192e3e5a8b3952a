/**
 * The lint tasks on a small temp workspace (planted defects, then fixed) with the real
 * shellcheck, yamllint, rpmspec, tsc and eslint.
 */
import { copyFile, mkdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TaskError } from '../../buildchain/engine/task.ts';
import { createLintTasks } from '../../buildchain/tasks/lint/tasks.ts';
import type { Sources } from '../../buildchain/sources/sources.ts';
import { makeTempDir, type TempDir } from '../helpers/tmp.ts';
import { testConfig } from '../helpers/config.ts';
import { missingTools } from '../helpers/require-tool.ts';
import { runOnEngine } from '../helpers/engine-run.ts';

const REPO = path.resolve(import.meta.dirname, '../..');
const DIGEST = `sha256:${'b'.repeat(64)}`;

const noSources = {} as Sources;

const FILES: Record<string, string> = {
  'package.json': JSON.stringify({ name: 'ws', version: '2.4.0-beta1', type: 'module' }),
  // lint:ts reads the lock file (its tool versions): a file dependency of the task.
  'package-lock.json': JSON.stringify({ name: 'ws', lockfileVersion: 3, packages: {} }),
  'scripts/good.sh': '#!/bin/bash\nset -eu\necho "ok"\n',
  'scripts/bootstrap.sh.in': '#!/bin/bash\nset -eu\nVERSION=@@VERSION\necho "$VERSION"\n',
  '.ci/run': '#!/usr/bin/env bash\necho "ci"\n',
  'salt/metalk8s/plain.sls': 'install:\n  pkg.installed:\n    - name: socat\n',
  'salt/metalk8s/templated.sls':
    '{%- set v = pillar.x %}\nfoo:\n  test.nop:\n    - name: {{ v }}\n',
  'images/images.yaml': `images:\n  - name: pause\n    version: "3.1"\n    source: { registry: k8s.gcr.io, repository: pause }\n    digest: ${DIGEST}\n  - name: local\n    version: "1.0"\n    build: { context: images/local }\n`,
  'images/local/Containerfile': 'FROM scratch\n',
  'salt/MANIFEST': '# shipped\nmetalk8s/plain.sls\nmetalk8s/templated.sls\n',
  'packages-specs/redhat-7.yaml':
    'osFamily: redhat-7\nreleasever: "7"\ndistTag: el7\nrepos: []\npackages:\n  - name: hello\n    built: true\n',
  'packages-specs/hello/hello.spec':
    'Name: hello\nVersion: 1.0\nRelease: 1%{?dist}\nSummary: hi\nLicense: MIT\nBuildArch: noarch\n%description\nhi\n%files\n',
  'src/ok.ts': 'export const answer: number = 42;\n',
  'tsconfig.json': JSON.stringify({
    compilerOptions: {
      target: 'ES2023',
      module: 'nodenext',
      moduleResolution: 'nodenext',
      strict: true,
      noEmit: true,
      types: ['node'],
      skipLibCheck: true,
    },
    include: ['src'],
  }),
};

describe.skipIf(missingTools('shellcheck', 'yamllint', 'rpmspec').length > 0)('lint tasks', () => {
  let ws: TempDir;
  const put = (rel: string, text: string): Promise<void> =>
    writeFile(path.join(ws.path, rel), text);
  const run = async (
    name: string,
    env: Record<string, string> = {},
  ): Promise<{ error: unknown; lines: string[] }> => {
    const config = testConfig(ws.path, env);
    // On the engine: the check tasks run first, as dependencies of the report task, or are
    // up to date from an earlier run with the same files and settings.
    const r = await runOnEngine(config, createLintTasks(config, noSources), [name]);
    const fail = r.events.find((e) => e.event === 'fail' && e.task === name);
    expect(r.failures.filter((f) => !f.startsWith(`${name}: `))).toEqual([]);
    const error = fail?.event === 'fail' ? new TaskError(fail.reason, fail.message) : undefined;
    return { error, lines: [...r.logLines] };
  };

  beforeAll(async () => {
    ws = await makeTempDir('mk8s-lint-');
    for (const [rel, text] of Object.entries(FILES)) {
      await mkdir(path.dirname(path.join(ws.path, rel)), { recursive: true });
      await put(rel, text);
    }
    await copyFile(path.join(REPO, '.yamllint'), path.join(ws.path, '.yamllint'));
    await copyFile(path.join(REPO, 'eslint.config.js'), path.join(ws.path, 'eslint.config.js'));
    await symlink(path.join(REPO, 'node_modules'), path.join(ws.path, 'node_modules'));
  });
  afterAll(async () => {
    await ws.cleanup();
  });

  it('lint runs all four subtasks: shell, yaml and content pass on the clean workspace, ts names only the planted errors', async () => {
    // One tsc+eslint run (the slow part) covers both the clean file and the planted defects.
    await put(
      'src/bad.ts',
      'export const n: number = "x";\nexport function f(a: any) { return a; }\n',
    );
    const { error, lines } = await run('lint');
    await rm(path.join(ws.path, 'src/bad.ts'));
    expect((error as TaskError).message).toBe('lint failed: lint:ts');
    expect(lines).toContain(
      'salt/metalk8s/templated.sls: excluded: Jinja template, rendered by Salt on the node (needs pillar/grains)',
    );
    expect(lines.filter((l) => l.startsWith('lint:'))).toEqual([
      'lint:shell: 0 errors, 0 warnings in 3 files',
      'lint:yaml: 0 errors, 0 warnings in 4 files',
      'lint:content: 0 errors, 0 warnings in 3 files',
      expect.stringMatching(
        /^lint:ts: [2-9] errors, 0 warnings in \d+ files$/,
      ) as unknown as string,
    ]);
    expect(lines.some((l) => /^src\/bad\.ts:1:14: error: .*\[TS2322\]$/.test(l))).toBe(true);
    expect(
      lines.some(
        (l) => l.startsWith('src/bad.ts:2:') && l.includes('[@typescript-eslint/no-explicit-any]'),
      ),
    ).toBe(true);
    const stored = JSON.parse(
      await readFile(path.join(ws.path, '_build/lint/ts.json'), 'utf8'),
    ) as { findings: { file: string }[] };
    expect(stored.findings.map((f) => f.file).filter((f) => f !== 'src/bad.ts')).toEqual([]);
  });

  it('lint:shell reports a defect in a rendered template at the template line', async () => {
    await put(
      'scripts/bootstrap.sh.in',
      '#!/bin/bash\nV=@@VERSION\ncd "/srv/$V"\necho $UNSET_THING\n',
    );
    const { error, lines } = await run('lint:shell');
    await put('scripts/bootstrap.sh.in', FILES['scripts/bootstrap.sh.in'] ?? '');
    expect(error).toBeInstanceOf(TaskError);
    expect(lines.some((l) => /^scripts\/bootstrap\.sh\.in:3:1: error: .*\[SC2164\]$/.test(l))).toBe(
      true,
    );
    expect(lines.some((l) => l.startsWith('scripts/bootstrap.sh.in:4:6:'))).toBe(true);
  });

  it('lint:shell lists its files when it runs: a script added or removed since its last run is seen', async () => {
    expect((await run('lint:shell')).error).toBeUndefined();
    await put('scripts/added.sh', '#!/bin/bash\necho $UNSET_ADDED\n');
    try {
      const added = await run('lint:shell');
      expect(added.error).toBeInstanceOf(TaskError);
      expect(added.lines.some((l) => l.startsWith('scripts/added.sh:2:6:'))).toBe(true);
      expect(added.lines).toContain('lint:shell: 1 error, 0 warnings in 4 files');
    } finally {
      await rm(path.join(ws.path, 'scripts/added.sh'));
    }
    const removed = await run('lint:shell');
    expect(removed.error).toBeUndefined();
    expect(removed.lines).toContain('lint:shell: 0 errors, 0 warnings in 3 files');
  });

  it('lint:yaml reports trailing spaces with file:line', async () => {
    await put('salt/metalk8s/plain.sls', 'install:\n  pkg.installed:   \n    - name: socat\n');
    const { error, lines } = await run('lint:yaml');
    await put('salt/metalk8s/plain.sls', FILES['salt/metalk8s/plain.sls'] ?? '');
    expect((error as TaskError).message).toBe('lint failed: lint:yaml');
    expect(lines).toContain(
      'salt/metalk8s/plain.sls:2:17: error: trailing spaces [trailing-spaces]',
    );
  });

  it('lint:content reports an unpinned image, an unparsable spec and an unreferenced spec', async () => {
    await put(
      'images/images.yaml',
      (FILES['images/images.yaml'] ?? '').replace(`    digest: ${DIGEST}\n`, ''),
    );
    await put(
      'packages-specs/hello/hello.spec',
      (FILES['packages-specs/hello/hello.spec'] ?? '').replace(
        'License: MIT\n',
        'License: MIT\nBogusTag: 1\n',
      ),
    );
    await mkdir(path.join(ws.path, 'packages-specs/orphan'), { recursive: true });
    await put(
      'packages-specs/orphan/orphan.spec',
      FILES['packages-specs/hello/hello.spec']?.replace('hello', 'orphan') ?? '',
    );
    const { error, lines } = await run('lint:content');
    expect(error).toBeInstanceOf(TaskError);
    expect(
      lines.some((l) =>
        l.startsWith('images/images.yaml:2: error: pause:3.1 (k8s.gcr.io/pause) is not pinned'),
      ),
    ).toBe(true);
    expect(
      lines.some(
        (l) => l === 'packages-specs/hello/hello.spec:6: error: Unknown tag: BogusTag: 1 [rpmspec]',
      ),
    ).toBe(true);
    expect(
      lines.some(
        (l) =>
          l.startsWith('packages-specs/orphan/orphan.spec: error:') && l.includes('not referenced'),
      ),
    ).toBe(true);

    expect(lines).not.toContain(
      'salt/MANIFEST: warning: not found: the shipped Salt file list was not compared with the tree [salt-list]',
    );

    const allowed = await run('lint:content', { ALLOW_UNPINNED_IMAGES: 'true' });
    expect(allowed.lines.some((l) => l.startsWith('images/images.yaml:2: warning:'))).toBe(true);
    await put('images/images.yaml', FILES['images/images.yaml'] ?? '');
    await put('packages-specs/hello/hello.spec', FILES['packages-specs/hello/hello.spec'] ?? '');
    await put('packages-specs/orphan/orphan.spec', '');
    await rm(path.join(ws.path, 'packages-specs/orphan'), { recursive: true });
  });

  it('lint:content compares salt/MANIFEST with the tree', async () => {
    await put('salt/MANIFEST', (FILES['salt/MANIFEST'] ?? '') + 'metalk8s/gone.sls\n');
    await put('salt/metalk8s/unlisted.sls', 'a: 1\n');
    const { error, lines } = await run('lint:content');
    await put('salt/MANIFEST', FILES['salt/MANIFEST'] ?? '');
    await rm(path.join(ws.path, 'salt/metalk8s/unlisted.sls'));
    expect((error as TaskError).message).toBe('lint failed: lint:content');
    expect(lines).toContain(
      'salt/MANIFEST:4: error: lists "salt/metalk8s/gone.sls", which does not exist [salt-missing]',
    );
    expect(lines).toContain(
      'salt/metalk8s/unlisted.sls: error: present in the tree but not in the shipped file list salt/MANIFEST [salt-unshipped]',
    );
  });
});
