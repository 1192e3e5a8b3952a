/**
 * A corpus of bad Solution trees: each is the `init` skeleton with one defect. `lint` must
 * report the defect's specific code, and `build` must refuse before doing anything (no ISO).
 */
import {
  chmod,
  mkdir,
  readFile,
  readdir,
  rename,
  rm,
  symlink,
  unlink,
  writeFile,
} from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import YAML from 'yaml';
import {
  buildSolution,
  SolutionInvalidError,
} from '../../buildchain/tasks/solution/build/build.ts';
import { runSolutionCli } from '../../buildchain/cli/solution.ts';
import { initSolution } from '../../buildchain/tasks/solution/init/init.ts';
import { skeletonFiles } from '../../buildchain/tasks/solution/init/init-templates.ts';
import { lintSolution } from '../../buildchain/tasks/solution/lint/lint.ts';
import { makeTempDir, type TempDir } from '../helpers/tmp.ts';

type Mutation = (dir: string) => Promise<void>;

async function editConfig(
  dir: string,
  edit: (doc: Record<string, unknown>) => void,
): Promise<void> {
  const file = path.join(dir, 'solution.yaml');
  const doc = YAML.parse(await readFile(file, 'utf8')) as Record<string, unknown>;
  edit(doc);
  await writeFile(file, YAML.stringify(doc));
}

function images(doc: Record<string, unknown>): Record<string, unknown>[] {
  return doc.images as Record<string, unknown>[];
}

const remote = { name: 'web', version: '1.25.3', source: 'docker.io/library/nginx' };
const isRoot = process.getuid?.() === 0;

const cronJob = `apiVersion: batch/v1
kind: CronJob
metadata: {name: nightly}
spec:
  schedule: "0 3 * * *"
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: OnFailure
          containers: [{name: backup, image: "{{ repository }}/backup:1.0.0"}]
`;

const corpus: [code: string, mutate: Mutation][] = [
  ['config-missing', (d) => unlink(path.join(d, 'solution.yaml'))],
  ['config-invalid', (d) => editConfig(d, (c) => (c.colour = 'blue'))],
  ['name-format', (d) => editConfig(d, (c) => (c.name = 'My_Solution'))],
  ['name-format', (d) => editConfig(d, (c) => (c.name = 'My  Solution'))],
  ['version-semver', (d) => editConfig(d, (c) => (c.version = '1.0'))],
  ['env-name', (d) => editConfig(d, (c) => (c.version = '1.0.0-RC1'))],
  ['require-metalk8s-range', (d) => editConfig(d, (c) => (c.requireMetalK8s = 'recent'))],
  ['layout-version', (d) => editConfig(d, (c) => (c.archiveLayoutVersion = 2))],
  ['volume-id-too-long', (d) => editConfig(d, (c) => (c.name = 'Extraordinarily-Long-Solution'))],
  [
    'iso-name-too-long',
    (d) =>
      writeFile(
        path.join(d, 'operator/deploy/crds/an_extremely_long_name_crd.yaml'),
        'apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\n',
      ),
  ],
  [
    'yaml-invalid',
    (d) => writeFile(path.join(d, 'ui/deployment.yaml'), 'kind: Deployment\nspec: [unclosed\n'),
  ],
  [
    'operator-kind',
    (d) =>
      writeFile(
        path.join(d, 'operator/deploy/role.yaml'),
        'apiVersion: apps/v1\nkind: Deployment\n',
      ),
  ],
  ['operator-file-missing', (d) => unlink(path.join(d, 'operator/deploy/service_account.yaml'))],
  ['image-name', (d) => editConfig(d, (c) => ((images(c)[0] ?? {}).name = 'Example_App!'))],
  ['image-tag', (d) => editConfig(d, (c) => ((images(c)[0] ?? {}).version = '.bad'))],
  [
    'image-digest',
    (d) => editConfig(d, (c) => images(c).push({ ...remote, digest: 'sha256:1234' })),
  ],
  ['image-unpinned', (d) => editConfig(d, (c) => images(c).push(remote))],
  ['image-duplicate', (d) => editConfig(d, (c) => images(c).push({ ...images(c)[0] }))],
  [
    'image-context',
    (d) =>
      editConfig(
        d,
        (c) =>
          ((images(c)[0] ?? {}).build = {
            context: 'images/example-app',
            hostFiles: { busybox: '/nonexistent/busybox' },
          }),
      ),
  ],
  [
    'path-traversal',
    (d) => editConfig(d, (c) => ((images(c)[0] ?? {}).build = { context: '../../etc' })),
  ],
  [
    'symlink-escape',
    (d) => symlink('/etc/hostname', path.join(d, 'operator/deploy/crds/host_crd.yaml')),
  ],
  [
    'unreadable-file',
    async (d) => {
      if (isRoot) await symlink('missing.yaml', path.join(d, 'ui/extra.yaml'));
      else await chmod(path.join(d, 'ui/deployment.yaml'), 0o000);
    },
  ],
  [
    'dropped-file',
    (d) => writeFile(path.join(d, 'operator/deploy/NOTES.txt'), 'remember to deploy\n'),
  ],
  // 2.4's import contract
  [
    'crd-misnamed',
    (d) =>
      rename(
        path.join(d, 'operator/deploy/crds/instance_crd.yaml'),
        path.join(d, 'operator/deploy/crds/instance.yaml'),
      ),
  ],
  ['ui-file-missing', (d) => unlink(path.join(d, 'ui/service.yaml'))],
  // Jinja the import would render with values lint does not know (was: yaml-invalid).
  [
    'ui-jinja',
    async (d) => {
      const file = path.join(d, 'ui/deployment.yaml');
      const text = await readFile(file, 'utf8');
      await writeFile(file, text.replace('spec:\n', 'spec:\n  replicas: {{ replicas }}\n'));
    },
  ],
  // An image referenced but not packaged: a typo in a Deployment, a CronJob, an init container.
  [
    'image-not-packaged',
    async (d) => {
      const file = path.join(d, 'operator/deploy/operator.yaml');
      const text = await readFile(file, 'utf8');
      await writeFile(file, text.replace('example-app:1.0.0', 'exmaple-app:1.0.0'));
    },
  ],
  ['image-not-packaged', (d) => writeFile(path.join(d, 'operator/deploy/nightly.yaml'), cronJob)],
  [
    'image-not-packaged',
    async (d) => {
      const file = path.join(d, 'ui/deployment.yaml');
      const text = await readFile(file, 'utf8');
      await writeFile(
        file,
        text.replace(
          '      containers:\n',
          '      initContainers:\n        - name: wait\n          image: "@REPOSITORY@/example-app:@VERSION@-typo"\n      containers:\n',
        ),
      );
    },
  ],
  [
    'image-ref-invalid',
    async (d) => {
      const file = path.join(d, 'operator/deploy/operator.yaml');
      const text = await readFile(file, 'utf8');
      await writeFile(file, text.replace('"example-app:1.0.0"', 'REPLACE_IMAGE'));
    },
  ],
  [
    'dropped-file',
    async (d) => {
      await mkdir(path.join(d, 'operator/src'), { recursive: true });
      await writeFile(path.join(d, 'operator/src/main.go'), 'package main\n');
    },
  ],
];

describe('lint and build on a corpus of bad Solutions', () => {
  let tmp: TempDir;
  beforeAll(async () => {
    tmp = await makeTempDir('mk8s-solution-corpus-');
  });
  afterAll(async () => {
    await tmp.cleanup();
  });

  it('the unmodified skeleton is clean but for its host file, which lint names', async () => {
    const dir = path.join(tmp.path, 'clean');
    await initSolution(dir, { name: 'Example', version: '1.0.0' });
    const r = await lintSolution(dir);
    expect(r.problems.map((p) => [p.severity, p.code])).toEqual([['warning', 'host-file']]);
    expect(r.problems[0]?.message).toContain(
      'hostFiles.busybox: copies the host file /bin/busybox',
    );
  });

  it('the repository example is exactly the skeleton init writes', async () => {
    const example = path.resolve(import.meta.dirname, '..', '..', 'examples', 'solution-example');
    const files = skeletonFiles({ name: 'Example', version: '1.0.0-dev' });
    for (const [rel, text] of Object.entries(files))
      expect(await readFile(path.join(example, rel), 'utf8'), rel).toBe(text);
    const listed = (await readdir(example, { recursive: true, withFileTypes: true }))
      .filter((e) => e.isFile())
      .map((e) => path.relative(example, path.join(e.parentPath, e.name)))
      .filter((rel) => !rel.startsWith('_build'));
    expect(listed.sort()).toEqual(Object.keys(files).sort());
  });

  it('init takes a display name with spaces; names inside use the env name form', async () => {
    const dir = path.join(tmp.path, 'spaces');
    const io = { out: () => undefined, err: () => undefined };
    expect(
      await runSolutionCli(['init', dir, '--name', 'My Solution', '--version', '1.0.0'], io),
    ).toBe(0);
    const r = await lintSolution(dir);
    expect(r.problems.map((p) => p.code)).toEqual(['host-file']);
    expect(r.config?.name).toBe('My Solution');
    expect(await readFile(path.join(dir, 'operator/deploy/operator.yaml'), 'utf8')).toContain(
      'name: my-solution-operator',
    );
    expect(await readFile(path.join(dir, 'README.md'), 'utf8')).toContain(
      '_build/my-solution-1.0.0.iso',
    );
  });

  it('warns about a packaged image no manifest references (a warning, not an error)', async () => {
    const dir = path.join(tmp.path, 'unreferenced');
    await initSolution(dir, { name: 'Example', version: '1.0.0' });
    await editConfig(dir, (c) =>
      images(c).push({ ...images(c)[0], name: 'spare-app', version: '1.0.0' }),
    );
    const r = await lintSolution(dir);
    expect(r.problems.filter((p) => p.severity === 'error')).toEqual([]);
    expect(r.problems.filter((p) => p.code === 'image-unreferenced')).toEqual([
      expect.objectContaining({
        severity: 'warning',
        file: 'solution.yaml',
        message:
          'image spare-app:1.0.0 is packaged but no operator, UI or CR manifest references it',
      }),
    ]);
  });

  it('names where the unpackaged image is referenced', async () => {
    const dir = path.join(tmp.path, 'where');
    await initSolution(dir, { name: 'Example', version: '1.0.0' });
    await writeFile(path.join(dir, 'operator/deploy/nightly.yaml'), cronJob);
    const r = await lintSolution(dir);
    expect(r.problems.filter((p) => p.severity === 'error')).toEqual([
      expect.objectContaining({
        code: 'image-not-packaged',
        file: 'operator/deploy/nightly.yaml',
        message:
          'CronJob/nightly container backup: image backup:1.0.0 is not packaged in the archive',
      }),
    ]);
  });

  it.each(corpus.map(([code, m], i) => [i, code, m] as const))(
    'case %i: %s',
    async (i, code, mutate) => {
      const dir = path.join(tmp.path, `case-${i}`);
      await initSolution(dir, { name: 'Example', version: '1.0.0' });
      await mutate(dir);
      const r = await lintSolution(dir);
      const errors = r.problems.filter((p) => p.severity === 'error');
      expect(errors.map((p) => p.code)).toContain(code);
      for (const p of errors) {
        expect(p.message.length).toBeGreaterThan(0);
        expect(p.fix.length).toBeGreaterThan(0);
      }
      const out = path.join(tmp.path, `out-${i}`);
      const err = await buildSolution({
        dir,
        output: path.join(out, 'x.iso'),
        workDir: path.join(out, 'work'),
        sourceDateEpoch: 1,
      }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(SolutionInvalidError);
      expect((err as SolutionInvalidError).problems.map((p) => p.code)).toContain(code);
      expect(await readdir(out).catch(() => [])).toEqual([]);
      await rm(dir, { recursive: true, force: true });
    },
  );
});
