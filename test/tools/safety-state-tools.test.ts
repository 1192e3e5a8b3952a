/**
 * State and environment safety with the real tools (issue 16): loopback servers ignore the
 * caller's REGISTRY_* variables, the ISO is umask-independent (and unchanged under umask 022),
 * and the temp ISO of a writer killed with -9 is removed by the next build.
 */
import { execFile, execFileSync, spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  statSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { link, mkdir, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkisofsArgs, NORMALISE_MODES } from '../../buildchain/media/iso/mkisofs-args.ts';
import { writeIso } from '../../buildchain/media/iso/write-iso.ts';
import { createSources, type Sources } from '../../buildchain/sources/sources.ts';
import { testConfig } from '../helpers/config.ts';
import { runCli } from '../helpers/run-cli.ts';
import { missingTools } from '../helpers/require-tool.ts';
import { startTestNginx, startTestRegistry, stopAll } from '../helpers/servers.ts';
import { makeTempDir, type TempDir } from '../helpers/tmp.ts';
import { createWorkspace, REPO_ROOT } from '../helpers/workspace.ts';
import { MIRROR_TOOLS, writeMirrorFixture } from './mirror-fixture.ts';

const run = promisify(execFile);

/** Variables a user may have set for other programs; each reconfigures docker-registry. */
const HOSTILE_ENV = {
  REGISTRY_AUTH_FILE: '/nonexistent',
  REGISTRY_HTTP_ADDR: 'junk',
  REGISTRY_LOG_LEVEL: 'junk',
};

/** Runs `f` with `vars` in this process's environment (what the servers would inherit). */
async function withEnv<T>(vars: Record<string, string>, f: () => Promise<T>): Promise<T> {
  const saved = Object.fromEntries(Object.keys(vars).map((k) => [k, process.env[k]]));
  Object.assign(process.env, vars);
  try {
    return await f();
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) Reflect.deleteProperty(process.env, k);
      else process.env[k] = v;
    }
  }
}

describe.skipIf(missingTools('nginx', 'docker-registry').length > 0)(
  'loopback servers ignore the caller environment',
  () => {
    const dirs: TempDir[] = [];
    afterAll(async () => {
      await stopAll();
      await Promise.all(dirs.map((d) => d.cleanup()));
    });

    it('docker-registry and nginx start and serve with REGISTRY_* variables set', async () => {
      const dir = await makeTempDir('mk8s-env-');
      dirs.push(dir);
      await withEnv(HOSTILE_ENV, async () => {
        const reg = await startTestRegistry({ dir: path.join(dir.path, 'reg') });
        expect((await fetch(`http://${reg.address}/v2/`)).status).toBe(200);
        const ngx = await startTestNginx({
          dir: path.join(dir.path, 'ngx'),
          serverBody: "location / { return 200 'ok'; }",
        });
        expect(await (await fetch(`http://${ngx.address}/`)).text()).toBe('ok');
      });
    });
  },
);

const mirrorTools = ['skopeo', ...MIRROR_TOOLS];
describe.skipIf(missingTools(...mirrorTools).length > 0)(
  'the embedded mirror with REGISTRY_* variables set',
  () => {
    let tmp: TempDir;
    let sources: Sources;
    beforeAll(async () => {
      tmp = await makeTempDir('mk8s-env-mirror-');
      await writeMirrorFixture(tmp.path);
      sources = createSources(testConfig(tmp.path, {}, 'embedded'));
    });
    afterAll(async () => {
      await sources.stop();
      await tmp.cleanup();
    });

    it('starts and serves a stand-in image', async () => {
      await withEnv(HOSTILE_ENV, async () => {
        const endpoint = await sources.registry('quay.io');
        const { stdout } = await run(
          'skopeo',
          [
            'inspect',
            '--tls-verify=false',
            '--raw',
            `docker://${endpoint.host}/${endpoint.pathPrefix}/calico/node:v3.8.2`,
          ],
          {
            env: { PATH: process.env.PATH ?? '' },
          },
        );
        expect(JSON.parse(stdout)).toHaveProperty('mediaType');
      });
    });
  },
);

const isoTools = ['xorriso', 'bsdtar'];
const sha256 = (file: string): string =>
  createHash('sha256').update(readFileSync(file)).digest('hex');

/** The iso-write fixture (hard link, exec bit, UTF-8 name, symlink), written under `umask`. */
async function makeTree(root: string, umask: number): Promise<void> {
  const before = process.umask(umask);
  try {
    await mkdir(path.join(root, 'dir/sub'), { recursive: true });
    await writeFile(path.join(root, 'product.txt'), 'NAME=Test\nVERSION=1.0.0\n');
    await writeFile(path.join(root, 'dir/sub/data.bin'), Buffer.alloc(200_000, 7));
    await link(path.join(root, 'dir/sub/data.bin'), path.join(root, 'dir/hard.bin'));
    await writeFile(path.join(root, 'run.sh'), '#!/bin/sh\necho hi\n');
    // As git checks out an executable: 0777 less the umask.
    chmodSync(path.join(root, 'run.sh'), 0o777 & ~umask);
    await writeFile(path.join(root, 'fichier-accentué.txt'), 'utf-8 name\n');
    await symlink('dir/sub/data.bin', path.join(root, 'link'));
  } finally {
    process.umask(before);
  }
}

describe.skipIf(missingTools(...isoTools).length > 0)(
  'ISO modes do not depend on the umask',
  () => {
    let tmp: TempDir;
    const isos = new Map<number, string>();
    beforeAll(async () => {
      tmp = await makeTempDir('mk8s-umask-');
      for (const umask of [0o022, 0o000, 0o077]) {
        const dir = path.join(tmp.path, `u${umask.toString(8)}`);
        await makeTree(path.join(dir, 'root'), umask);
        const before = process.umask(umask);
        try {
          const output = path.join(dir, 'out.iso');
          await writeIso({
            root: path.join(dir, 'root'),
            output,
            volumeId: 'Test 1.0.0',
            epoch: 1700000000,
          });
          isos.set(umask, output);
        } finally {
          process.umask(before);
        }
      }
    });
    afterAll(() => tmp.cleanup());

    it('gives byte-identical ISOs under umask 022, 000 and 077', () => {
      const sums = [...isos.values()].map(sha256);
      expect(new Set(sums).size).toBe(1);
    });

    it('has no world-writable entry and the usual modes (bsdtar -tv)', () => {
      const listing = execFileSync('bsdtar', ['-tvf', isos.get(0o000) ?? ''], { encoding: 'utf8' });
      const modes = Object.fromEntries(
        listing
          .trim()
          .split('\n')
          .map((l) => {
            const cols = l.split(/\s+/);
            return [
              cols
                .slice(8)
                .join(' ')
                .replace(/ -> .*| link to .*/, ''),
              cols[0] ?? '',
            ];
          }),
      );
      expect(modes).toMatchObject({
        dir: 'drwxr-xr-x',
        'dir/sub': 'drwxr-xr-x',
        'dir/sub/data.bin': '-rw-r--r--',
        'dir/hard.bin': '-rw-r--r--',
        'run.sh': '-rwxr-xr-x',
        'product.txt': '-rw-r--r--',
        'fichier-accentué.txt': '-rw-r--r--',
      });
      expect(Object.values(modes).filter((m) => !m.startsWith('l') && m[8] === 'w')).toEqual([]);
    });

    it('writes the ISO and its SHA256SUM with mode 0644 whatever the umask', () => {
      for (const iso of isos.values()) {
        expect((statSync(iso).mode & 0o777).toString(8)).toBe('644');
        expect((statSync(path.join(path.dirname(iso), 'SHA256SUM')).mode & 0o777).toString(8)).toBe(
          '644',
        );
      }
    });

    it('under umask 022 the ISO is byte-identical to one written without the mode normalisation', async () => {
      const root = path.join(tmp.path, 'u22', 'root');
      const now = path.join(tmp.path, 'now.iso');
      await writeIso({
        root,
        output: now,
        volumeId: 'Test 1.0.0',
        epoch: 1700000000,
        implantMd5: false,
        checksumFile: null,
      });
      const argv = mkisofsArgs({
        prefix: ['xorriso', '-as', 'mkisofs'],
        root,
        volumeId: 'Test 1.0.0',
        epoch: 1700000000,
      });
      const before = argv.slice(0, argv.length - NORMALISE_MODES.length);
      const old = path.join(tmp.path, 'before.iso');
      const fd = openSync(old, 'w');
      try {
        expect(
          spawnSync(before[0] ?? '', before.slice(1), { stdio: ['ignore', fd, 'ignore'] }).status,
        ).toBe(0);
      } finally {
        closeSync(fd);
      }
      expect(sha256(now)).toBe(sha256(old));
    });
  },
);

const TSX_LOADER = pathToFileURL(path.join(REPO_ROOT, 'node_modules/tsx/dist/loader.mjs')).href;
const WRITE_ISO_TS = path.join(REPO_ROOT, 'buildchain/media/iso/write-iso.ts');

describe.skipIf(missingTools('xorriso').length > 0)('kill -9 during the ISO write', () => {
  it('leaves metalk8s.iso.tmp-<pid>-<hex>, which the next build removes', async () => {
    const ws =
      await createWorkspace(`return [{ name: 'iso', uptodate: [true], targets: ['_build/metalk8s.iso'],
      actions: [sh('echo iso > _build/metalk8s.iso')] }];`);
    try {
      const root = ws.path('_build/root');
      mkdirSync(root, { recursive: true });
      writeFileSync(path.join(root, 'big.bin'), ''); // sparse: quick to make, long to stream
      truncateSync(path.join(root, 'big.bin'), 400 << 20);
      writeFileSync(
        ws.path('writer.mjs'),
        `import { writeIso } from ${JSON.stringify(WRITE_ISO_TS)};
await writeIso({ root: ${JSON.stringify(root)}, output: ${JSON.stringify(ws.path('_build/metalk8s.iso'))}, volumeId: 'T 1', epoch: 1 });`,
      );
      const writer = spawn(process.execPath, ['--import', TSX_LOADER, ws.path('writer.mjs')], {
        stdio: 'ignore',
      });
      const temps = (): string[] =>
        readdirSync(ws.path('_build')).filter((n) => n.startsWith('metalk8s.iso.tmp-'));
      for (
        let i = 0;
        i < 600 && !temps().some((n) => statSync(ws.path(`_build/${n}`)).size > 1 << 20);
        i++
      ) {
        await new Promise((r) => setTimeout(r, 20));
      }
      writer.kill('SIGKILL');
      await new Promise((r) => writer.once('exit', r));
      expect(temps()).toHaveLength(1);
      expect(temps()[0]).toMatch(
        new RegExp(`^metalk8s\\.iso\\.tmp-${writer.pid ?? 0}-[0-9a-f]{8}$`),
      );
      // The writer's xorriso exits on the broken pipe; the temp stays until a build takes the lock.
      const r = await runCli(ws, ['iso']);
      expect(r.code).toBe(0);
      expect(temps()).toEqual([]);
      expect(existsSync(ws.path('_build/metalk8s.iso'))).toBe(true);
    } finally {
      await ws.cleanup();
    }
  });
});
