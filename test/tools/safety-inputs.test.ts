/**
 * Issue 16, inputs that name files stay inside the repository (or the Solution's tree), through
 * the real CLIs on temp copies: a `salt/MANIFEST` entry symlinked to a host file, a listed
 * directory, a `build.context` / `build.file` leading out of the repository, a 300-character
 * image name, a Solution's `hostFiles`, and the Solution CLI's path mistakes. A canary "host
 * file" outside the copies must never reach any output, and the canary directory is unchanged.
 */
import { execFileSync } from 'node:child_process';
import { cp, lstat, mkdir, readdir, readFile, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { runSolutionCli } from '../../buildchain/cli/solution.ts';
import { initSolution } from '../../buildchain/tasks/solution/init/init.ts';
import { runCliHere, shellEnv, type CliResult } from '../helpers/run-cli.ts';
import { makeTempDir, type TempDir } from '../helpers/tmp.ts';
import { REPO_ROOT } from '../helpers/workspace.ts';

/** What a build reads from the repository (enough to define every task). */
const CONTENT = [
  'salt',
  'images',
  'packages-specs',
  'iso-root',
  'scripts',
  'examples',
  'VERSION',
  '.env.example',
];
const SECRET = 'CANARY-host-secret-5d1c9e';

interface Event {
  readonly event: string;
  readonly task?: string;
  readonly reason?: string;
  readonly message?: string;
  readonly hint?: string;
}

/** Every path under `dir` (symlinks not followed), sorted, with sizes: a directory's listing. */
async function listing(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const p of await entries(dir)) {
    const st = await lstat(p);
    out.push(`${path.relative(dir, p)} ${st.isSymbolicLink() ? 'link' : String(st.size)}`);
  }
  return out.sort();
}

/** Every path under `dir`, never descending into a symlinked directory. */
async function entries(dir: string): Promise<string[]> {
  const all = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  return all.map((e) => path.join(e.parentPath, e.name));
}

/** Regular files under `dir` (symlinks not followed) whose content holds the canary. */
async function filesWithSecret(dir: string): Promise<string[]> {
  const found: string[] = [];
  for (const p of await entries(dir)) {
    if ((await lstat(p)).isFile() && (await readFile(p)).includes(SECRET))
      found.push(path.relative(dir, p));
  }
  return found;
}

function expectNoStack(text: string): void {
  expect(text).not.toMatch(/\n\s+at [\w.<]/);
  expect(text).not.toContain('internal error');
}

describe('inputs that name files stay inside the repository or the Solution tree', () => {
  let tmp: TempDir;
  let canaryDir: string;
  let hostFile: string;
  let canaryBefore: string[];
  let n = 0;

  /** A fresh repository copy (content only; the CLI is this repository's). */
  async function freshRepo(): Promise<string> {
    const repo = path.join(tmp.path, `repo-${String(++n)}`);
    for (const c of CONTENT)
      await cp(path.join(REPO_ROOT, c), path.join(repo, c), { recursive: true });
    return repo;
  }

  async function build(
    repo: string,
    args: readonly string[],
  ): Promise<CliResult & { error: Event; fail: Event }> {
    // The build CLI's main, in this process (each repository copy has its own path).
    const r = await runCliHere(repo, args, { env: shellEnv() });
    const events = r.events as unknown as Event[];
    return {
      ...r,
      error: events.find((e) => e.event === 'error') ?? { event: '' },
      fail: events.find((e) => e.event === 'fail') ?? { event: '' },
    };
  }

  async function appendManifest(repo: string, line: string): Promise<void> {
    const file = path.join(repo, 'salt/MANIFEST');
    await writeFile(file, `${await readFile(file, 'utf8')}${line}\n`);
  }

  beforeAll(async () => {
    tmp = await makeTempDir('mk8s-safety-inputs-');
    canaryDir = path.join(tmp.path, 'canary');
    await mkdir(path.join(canaryDir, 'context'), { recursive: true });
    hostFile = path.join(canaryDir, 'shadow');
    await writeFile(hostFile, `root:${SECRET}:19000:0:99999:7:::\n`, { mode: 0o644 });
    await writeFile(
      path.join(canaryDir, 'context', 'Containerfile'),
      `FROM scratch\n# ${SECRET}\n`,
    );
    canaryBefore = await listing(canaryDir);
  });

  afterAll(async () => {
    expect(await listing(canaryDir)).toEqual(canaryBefore);
    await tmp.cleanup();
  });

  describe('salt/MANIFEST', () => {
    it('an entry symlinked to a host file: exit 2 naming salt/MANIFEST and the entry, nothing shipped', async () => {
      const repo = await freshRepo();
      await symlink(hostFile, path.join(repo, 'salt/leak.sls'));
      await appendManifest(repo, 'leak.sls');
      const r = await build(repo, ['salt:copy']);
      expect(r.code, r.stderr).toBe(2);
      expect(r.error.message).toBe(
        `salt/MANIFEST entry 'leak.sls' resolves to ${hostFile}, outside ${path.join(repo, 'salt')}`,
      );
      expect(r.error.hint).toContain('replace the symlink by the file itself');
      expectNoStack(r.stdout + r.stderr);
      expect(await filesWithSecret(repo)).toEqual([]);
    });

    it('a listed directory: exit 2 naming the entry and the fix (no stack trace)', async () => {
      const repo = await freshRepo();
      await appendManifest(repo, 'metalk8s/repo');
      const r = await build(repo, ['salt:copy']);
      expect(r.code, r.stderr).toBe(2);
      expect(r.error.message).toBe(
        "salt/MANIFEST entry 'metalk8s/repo' is a directory, not a file",
      );
      expect(r.error.hint).toBe(
        'list the files under salt/metalk8s/repo/ one per line in salt/MANIFEST instead of the directory',
      );
      expectNoStack(r.stdout + r.stderr);
    });

    it('a listed file swapped for a link out of salt/ after the graph was defined: salt:copy fails (exit 1)', async () => {
      const repo = await freshRepo();
      const target = path.join(repo, 'salt/metalk8s/map.jinja');
      // The swap runs as a task before salt:copy: the graph was defined on the clean tree.
      await writeFile(
        path.join(repo, 'tasks.mjs'),
        `import { rm, symlink } from 'node:fs/promises';
import { fn } from ${JSON.stringify(path.join(REPO_ROOT, 'buildchain/engine/task.ts'))};
import { createSaltTasks } from ${JSON.stringify(path.join(REPO_ROOT, 'buildchain/tasks/salt/tasks.ts'))};
export function createTasks(config, sources) {
  const swap = { name: 'swap', actions: [fn('swap', async () => { await rm(${JSON.stringify(target)}); await symlink(${JSON.stringify(hostFile)}, ${JSON.stringify(target)}); })] };
  return [swap, ...createSaltTasks(config, sources).map((t) => (t.name === 'salt:copy' ? { ...t, taskDeps: ['swap'] } : t))];
}
`,
      );
      const r = await build(repo, ['--tasks-module', 'tasks.mjs', 'salt:copy']);
      expect(r.code, r.stdout).toBe(1);
      expect(r.fail).toMatchObject({
        task: 'salt:copy',
        reason: 'invalid-input',
        message: `salt/MANIFEST entry 'metalk8s/map.jinja' resolves to ${hostFile}, outside ${path.join(repo, 'salt')}`,
      });
      expectNoStack(r.stdout + r.stderr);
      expect(await filesWithSecret(path.join(repo, '_build'))).toEqual([]);
    });

    it('a symlink staying inside salt/ is shipped as its target content (control)', async () => {
      const repo = await freshRepo();
      await symlink('metalk8s/map.jinja', path.join(repo, 'salt/alias.jinja'));
      await appendManifest(repo, 'alias.jinja');
      const r = await build(repo, ['salt:copy']);
      expect(r.code, r.stdout).toBe(0);
      expect(await readFile(path.join(repo, '_build/root/salt/alias.jinja'), 'utf8')).toBe(
        await readFile(path.join(repo, 'salt/metalk8s/map.jinja'), 'utf8'),
      );
    });
  });

  describe('images/images.yaml', () => {
    async function withLocalImage(
      repo: string,
      build: Record<string, unknown>,
      name = 'leaky',
    ): Promise<void> {
      const file = path.join(repo, 'images/images.yaml');
      const doc = YAML.parse(await readFile(file, 'utf8')) as { images: unknown[] };
      doc.images.push({ name, version: '1.0', build });
      await writeFile(file, YAML.stringify(doc));
    }

    async function expectListRefused(repo: string, mentions: readonly string[]): Promise<void> {
      const r = await build(repo, ['list']);
      expect(r.code, r.stdout + r.stderr).toBe(2);
      expect(r.error.reason).toBe('invalid-task');
      for (const m of mentions) expect(r.error.message).toContain(m);
      expect(r.error.hint).toBe('fix the entries named above (format: docs/images.md)');
      expectNoStack(r.stdout + r.stderr);
      expect(await filesWithSecret(repo)).toEqual([]);
    }

    it('a build.context symlinked out of the repository: exit 2 naming the file, the image and the key', async () => {
      const repo = await freshRepo();
      await symlink(path.join(canaryDir, 'context'), path.join(repo, 'images/leaky'));
      await withLocalImage(repo, { context: 'images/leaky' });
      await expectListRefused(repo, [
        `images/images.yaml: image leaky:1.0: build.context "images/leaky" resolves to ${path.join(canaryDir, 'context')}, outside the repository ${repo}`,
      ]);
    });

    it('a build.file leading out of the repository (relative or absolute): exit 2', async () => {
      const repo = await freshRepo();
      await mkdir(path.join(repo, 'images/leaky'));
      await writeFile(path.join(repo, 'images/leaky/Containerfile'), 'FROM scratch\n');
      const outside = path.relative(path.join(repo, 'images/leaky'), hostFile);
      await withLocalImage(repo, { context: 'images/leaky', file: outside });
      await withLocalImage(repo, { context: 'images/leaky', file: hostFile }, 'leaky-abs');
      await expectListRefused(repo, [
        `images/images.yaml: image leaky:1.0: build.file "${outside}" resolves to ${hostFile}, outside the repository`,
        `(leaky-abs): build.file "${hostFile}" must be a path relative to build.context`,
      ]);
    });

    it('a Containerfile or a context file symlinked out of the repository: exit 2', async () => {
      const repo = await freshRepo();
      await mkdir(path.join(repo, 'images/leaky'));
      await symlink(
        path.join(canaryDir, 'context', 'Containerfile'),
        path.join(repo, 'images/leaky/Containerfile'),
      );
      await symlink(hostFile, path.join(repo, 'images/leaky/shadow'));
      await withLocalImage(repo, { context: 'images/leaky' });
      await expectListRefused(repo, [
        `image leaky:1.0: Containerfile or Dockerfile resolves to ${path.join(canaryDir, 'context', 'Containerfile')}, outside the repository`,
        `image leaky:1.0: build.context "images/leaky" holds the symlink shadow resolving to ${hostFile}, outside the repository`,
      ]);
    });

    it('a 300-character image name: exit 2 naming the image and the limit (not a raw ENAMETOOLONG)', async () => {
      const repo = await freshRepo();
      await mkdir(path.join(repo, 'images/long'));
      await writeFile(path.join(repo, 'images/long/Containerfile'), 'FROM scratch\n');
      await withLocalImage(repo, { context: 'images/long' }, 'a'.repeat(300));
      await expectListRefused(repo, [
        `(${'a'.repeat(40)}… (300 characters)): name "${'a'.repeat(40)}… (300 characters)" is 300 bytes, more than the 255 a file name holds (NAME_MAX)`,
        'shorten it to at most 103 characters',
      ]);
    });
  });

  describe('Solutions', () => {
    const out: string[] = [];
    const err: string[] = [];
    const io = { out: (t: string) => out.push(t), err: (t: string) => err.push(t) };
    async function solution(...argv: string[]): Promise<{ code: number; text: string }> {
      out.length = 0;
      err.length = 0;
      const code = await runSolutionCli(argv, io);
      return { code, text: [...out, ...err].join('\n') };
    }

    async function skeleton(name: string): Promise<string> {
      const dir = path.join(tmp.path, name);
      await initSolution(dir, { name: 'Safe', version: '1.0.0' });
      return dir;
    }

    it('hostFiles: lint names every host file (never "no problems found"); build refuses them without --allow-host-files', async () => {
      const dir = await skeleton('sol-host');
      const file = path.join(dir, 'solution.yaml');
      const doc = YAML.parse(await readFile(file, 'utf8')) as {
        images: { build: { hostFiles: Record<string, string> } }[];
      };
      const first = doc.images[0];
      if (first === undefined) throw new Error('no image');
      first.build.hostFiles.shadow = hostFile;
      await writeFile(file, YAML.stringify(doc));
      const lint = await solution('lint', dir);
      expect(lint.code).toBe(0);
      expect(lint.text).toContain(
        `warning [host-file] image safe-app:1.0.0: hostFiles.shadow: copies the host file ${hostFile} into the image`,
      );
      expect(lint.text).toContain('hostFiles.busybox: copies the host file /bin/busybox');
      expect(lint.text).toContain('0 error(s), 2 warning(s)');
      expect(lint.text).not.toContain('no problems found');
      const outDir = path.join(tmp.path, 'sol-host-out');
      await mkdir(outDir);
      const b = await solution('build', dir, '-o', path.join(outDir, 'x.iso'));
      expect(b.code).toBe(1);
      expect(b.text).toContain(
        `error [host-file-not-allowed] image safe-app:1.0.0: hostFiles.shadow: would copy the host file ${hostFile}`,
      );
      expect(b.text).toContain('no ISO was written');
      expectNoStack(b.text);
      expect(await readdir(outDir)).toEqual([]);
      expect(await filesWithSecret(dir)).toEqual([]);
    });

    it('init under a regular file or onto one: exit 2 naming the path, nothing written', async () => {
      const parent = path.join(tmp.path, 'init-parent');
      await mkdir(parent);
      await writeFile(path.join(parent, 'somefile'), 'x\n');
      const before = await listing(parent);
      const under = await solution(
        'init',
        path.join(parent, 'somefile', 'x'),
        '--name',
        'A',
        '--version',
        '1.0.0',
      );
      expect(under.code).toBe(2);
      expect(under.text).toContain(
        `cannot create ${path.join(parent, 'somefile', 'x')}: ${path.join(parent, 'somefile')} is not a directory`,
      );
      expectNoStack(under.text);
      const onto = await solution(
        'init',
        path.join(parent, 'somefile'),
        '--name',
        'A',
        '--version',
        '1.0.0',
      );
      expect(onto.code).toBe(2);
      expect(onto.text).toContain(`${path.join(parent, 'somefile')} exists and is not a directory`);
      expect(await listing(parent)).toEqual(before);
    });

    it('build -o onto a directory, into a missing directory, inside the Solution, onto a FIFO; --work-dir a file: exit 2, nothing written', async () => {
      const dir = await skeleton('sol-out');
      const place = path.join(tmp.path, 'out-place');
      await mkdir(path.join(place, 'iso-dir'), { recursive: true });
      execFileSync('mkfifo', [path.join(place, 'fifo.iso')]);
      await writeFile(path.join(place, 'a-file'), 'x\n');
      const before = { place: await listing(place), dir: await listing(dir) };
      const cases: [argv: string[], message: string][] = [
        [['-o', path.join(place, 'iso-dir')], `-o ${path.join(place, 'iso-dir')} is a directory`],
        [
          ['-o', path.join(place, 'missing', 'x.iso')],
          `the directory ${path.join(place, 'missing')} does not exist`,
        ],
        [['-o', path.join(dir, 'x.iso')], `is inside the Solution directory ${dir}`],
        [['-o', path.join(place, 'fifo.iso')], 'exists and is not a regular file'],
        [
          ['--work-dir', path.join(place, 'a-file')],
          `--work-dir ${path.join(place, 'a-file')} exists and is not a directory`,
        ],
        [['--work-dir', path.join(dir, 'images')], `is inside the Solution directory ${dir}`],
      ];
      for (const [argv, message] of cases) {
        const r = await solution('build', dir, ...argv);
        expect(r.code, argv.join(' ')).toBe(2);
        expect(r.text).toContain(message);
        expect(r.text).toContain('nothing was written');
        expect(r.text).toMatch(/hint: \S/);
        expectNoStack(r.text);
      }
      expect(await listing(place)).toEqual(before.place);
      expect(await listing(dir)).toEqual(before.dir);
    });
  });
});
