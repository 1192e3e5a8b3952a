/**
 * The `images` task group with SOURCES=embedded through the real CLI (`--tasks-module`) in a
 * temp workspace: two remote images sharing nothing, an archive and a local build (its
 * FROM scratch stand-in). Checks the layouts against the embedded mirror's stand-in digests,
 * that no mirror server outlives the build, that deleting the ISO root re-runs the dedup pass
 * (hard links restored) and that a blob deleted inside a layout re-runs its pull.
 */
import { createHash } from 'node:crypto';
import {
  copyFile,
  mkdir,
  readdir,
  readFile,
  readlink,
  rm,
  stat,
  writeFile,
} from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadImageList } from '../../buildchain/config/images.ts';
import { layoutProblem } from '../../buildchain/tasks/images/layout-check.ts';
import { parseManifest } from '../../buildchain/lib/oci/manifest.ts';
import { createSources, type Sources } from '../../buildchain/sources/sources.ts';
import { testConfig } from '../helpers/config.ts';
import { missingTools } from '../helpers/require-tool.ts';
import { makeTempDir, type TempDir } from '../helpers/tmp.ts';
import { runCliHere, shellEnv } from '../helpers/run-cli.ts';
import { MIRROR_TOOLS } from './mirror-fixture.ts';

const REPO = path.resolve(import.meta.dirname, '../..');

interface Event {
  readonly event: string;
  readonly task?: string;
  readonly reason?: string;
  readonly message?: string;
}

const LIST = `images:
  - name: alpha
    version: "1.0"
    source: { registry: quay.io, repository: test/alpha }
    digest: sha256:${'1'.repeat(64)}
  - name: beta
    version: "2.0"
    source: { registry: docker.io, repository: test/beta }
  - name: pause
    version: "3.1"
    source: { registry: k8s.gcr.io, repository: pause }
    digest: sha256:${'2'.repeat(64)}
    ship: archive
    archivePath: salt/files/pause-3.1.tar
  - name: hello
    version: "1.0"
    build: { context: images/hello }
`;

/** Pids of live processes whose command line mentions `text` (the mirror's servers name their dirs). */
async function processesMentioning(text: string): Promise<string[]> {
  const found: string[] = [];
  for (const pid of (await readdir('/proc')).filter((p) => /^\d+$/.test(p))) {
    if (Number(pid) === process.pid) continue;
    const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
    const exe = await readlink(`/proc/${pid}/exe`).catch(() => '');
    if (cmdline.includes(text))
      found.push(`${pid} ${path.basename(exe)} ${cmdline.replaceAll('\0', ' ').trim()}`);
  }
  return found;
}

async function inode(file: string): Promise<number> {
  return (await stat(file)).ino;
}

describe.skipIf(missingTools('skopeo', 'buildah', ...MIRROR_TOOLS).length > 0)(
  'images tasks with SOURCES=embedded through the CLI',
  () => {
    let tmp: TempDir;
    let ws: string;
    let isoImages: string;

    async function build(
      task = 'images',
    ): Promise<{ code: number; events: Event[]; stderr: string }> {
      // The build CLI's main, in this process (tasks.mts never changes: the module cache is safe).
      const r = await runCliHere(ws, ['--tasks-module', 'tasks.mts', '-n', '2', task], {
        env: shellEnv({ SOURCES: 'embedded' }),
      });
      return { code: r.code ?? -1, events: r.events, stderr: r.stderr };
    }

    const started = (events: readonly Event[]): string[] =>
      events
        .filter((e) => e.event === 'start')
        .map((e) => e.task ?? '')
        .sort();

    beforeAll(async () => {
      tmp = await makeTempDir('mk8s-images-embedded-');
      ws = path.join(tmp.path, 'ws');
      isoImages = path.join(ws, '_build', 'root', 'images');
      await mkdir(path.join(ws, 'images', 'hello'), { recursive: true });
      await copyFile(path.join(REPO, '.env.example'), path.join(ws, '.env.example'));
      await writeFile(path.join(ws, '.env'), 'SOURCES=embedded\n');
      await writeFile(
        path.join(ws, 'VERSION'),
        'VERSION_MAJOR=2\nVERSION_MINOR=4\nVERSION_PATCH=0\nVERSION_SUFFIX=-test\n',
      );
      // The real context needs an upstream base; SOURCES=embedded builds a stand-in instead.
      await writeFile(
        path.join(ws, 'images', 'hello', 'Containerfile'),
        'FROM quay.io/nowhere/base:1\nCOPY x /x\n',
      );
      await writeFile(path.join(ws, 'images', 'images.yaml'), LIST);
      // .mts: without a package.json tsx loads a .ts as CommonJS, and the mirror's execa is ESM only.
      await writeFile(
        path.join(ws, 'tasks.mts'),
        `import { createImagesTasks } from ${JSON.stringify(path.join(REPO, 'buildchain/tasks/images/tasks.ts'))};\n` +
          `import { createMirrorTasks } from ${JSON.stringify(path.join(REPO, 'buildchain/tasks/mirror/tasks.ts'))};\n` +
          'export function createTasks(config, sources) { return [...createMirrorTasks(config, sources), ...createImagesTasks(config, sources)]; }\n',
      );
    });

    afterAll(async () => {
      await tmp.cleanup();
    });

    it('pulls the stand-ins by their digests, builds the local stand-in, and leaves no server running', async () => {
      const first = await build();
      expect(
        first.events.filter((e) => e.event === 'fail'),
        first.stderr,
      ).toEqual([]);
      expect(first.code, first.stderr).toBe(0);
      expect(started(first.events)).toEqual(
        expect.arrayContaining([
          'images:build:hello',
          'images:dedup',
          'images:pull:alpha',
          'images:pull:beta',
          'images:pull:pause',
          'mirror:seed',
        ]),
      );
      expect(await processesMentioning(ws)).toEqual([]);

      const entries = await loadImageList(ws);
      const sources: Sources = createSources(testConfig(ws, {}, 'embedded'));
      try {
        const blobSets: Set<string>[] = [];
        for (const name of ['alpha', 'beta', 'pause']) {
          const entry = entries.find((e) => e.name === name);
          if (entry === undefined) throw new Error(`no entry ${name}`);
          const digest = await sources.imageDigest(entry);
          // Stand-ins: not the pinned (made-up) digests, and beta (unpinned) still gets one.
          expect(digest).toMatch(/^sha256:[a-f0-9]{64}$/);
          expect(digest).not.toBe(entry.digest);
          const dir =
            name === 'pause'
              ? path.join(ws, '_build', 'images-archives', 'pause', '3.1')
              : path.join(isoImages, name, entry.version);
          const manifest = await readFile(path.join(dir, 'manifest.json'));
          expect(`sha256:${createHash('sha256').update(manifest).digest('hex')}`).toBe(digest);
          expect(layoutProblem(dir)).toBeUndefined();
          const parsed = parseManifest(manifest);
          if (parsed.kind !== 'image') throw new Error(`${name}: expected an image manifest`);
          blobSets.push(new Set(parsed.blobs.map((b) => b.digest)));
        }
        const [alpha, beta] = blobSets;
        expect([...(alpha ?? [])].filter((d) => beta?.has(d) === true)).toEqual([]);
      } finally {
        await sources.stop();
      }
      expect(
        (await stat(path.join(ws, '_build', 'root', 'salt', 'files', 'pause-3.1.tar'))).size,
      ).toBeGreaterThan(0);
      const hello = path.join(isoImages, 'hello', '1.0');
      expect(layoutProblem(hello)).toBeUndefined();
      expect(await readdir(path.join(isoImages))).toEqual(['alpha', 'beta', 'hello']);
      // The dedup pass linked the identical `version` files of the three layouts.
      const versions = await Promise.all(
        ['alpha/1.0', 'beta/2.0', 'hello/1.0'].map((d) =>
          inode(path.join(isoImages, d, 'version')),
        ),
      );
      expect(new Set(versions).size).toBe(1);

      const second = await build();
      expect(second.code).toBe(0);
      expect(started(second.events)).toEqual([]);
      expect(await processesMentioning(ws)).toEqual([]);
    });

    it('after the ISO root is deleted, the rebuild dedups again', async () => {
      await rm(path.join(ws, '_build', 'root'), { recursive: true, force: true });
      const r = await build();
      expect(r.code).toBe(0);
      expect(started(r.events)).toContain('images:dedup');
      const versions = await Promise.all(
        ['alpha/1.0', 'beta/2.0', 'hello/1.0'].map((d) =>
          inode(path.join(isoImages, d, 'version')),
        ),
      );
      expect(new Set(versions).size).toBe(1);
      expect(started((await build()).events)).toEqual([]);
    });

    it('a blob deleted inside a layout re-runs that pull only', async () => {
      const dir = path.join(isoImages, 'alpha', '1.0');
      const parsed = parseManifest(await readFile(path.join(dir, 'manifest.json')));
      if (parsed.kind !== 'image') throw new Error('expected an image manifest');
      const layer = parsed.blobs.at(-1)?.digest.slice('sha256:'.length) ?? '';
      await rm(path.join(dir, layer));
      const r = await build();
      expect(r.code).toBe(0);
      const ran = started(r.events);
      expect(ran).toContain('images:pull:alpha');
      expect(ran).toContain('images:dedup');
      expect(ran).not.toContain('images:pull:beta');
      expect(ran).not.toContain('images:build:hello');
      expect(layoutProblem(dir)).toBeUndefined();
      expect(await processesMentioning(ws)).toEqual([]);
    });
  },
);
