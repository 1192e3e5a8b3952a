/**
 * Issue 16, no interpolation into another language, with the real tools: a BUILD_ROOT holding
 * `;cmd` no longer runs the command through the stand-in RPM specs; hostile names and paths
 * through the nginx and RPM generators are refused or give configs `nginx -t` and specs
 * `rpmspec -P` accept with no extra location or macro (fast-check, 30 runs each); the
 * static-registry CLI refuses an IMAGES_DIR holding the reported injection or `$host`; loopback
 * servers start in a prefix holding spaces, quotes and `;`. A canary directory must stay empty.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmod, mkdir, readdir, writeFile } from 'node:fs/promises';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TaskError } from '../../buildchain/engine/task.ts';
import { generateRegistryConfig } from '../../buildchain/tasks/images/nginx-registry-config.ts';
import { scanImagesDir } from '../../buildchain/tasks/images/registry-scan.ts';
import { createEmbeddedMirror } from '../../buildchain/sources/embedded/embedded.ts';
import { signRpms } from '../../buildchain/sources/embedded/signing.ts';
import {
  buildStandInRpm,
  rpmbuildArgs,
  standInSpec,
} from '../../buildchain/sources/embedded/stand-in-rpm.ts';
import {
  isClearRefusal,
  nameLike,
  rootLike,
  tagLike,
  registryConfigArgs,
  registryConfigOrRefusal,
} from '../helpers/hostile-values.ts';
import { missingTools } from '../helpers/require-tool.ts';
import { spawnCliIn, shellEnv } from '../helpers/run-cli.ts';
import { startTestNginx, startTestRegistry, stopAll } from '../helpers/servers.ts';
import { makeTempDir, type TempDir } from '../helpers/tmp.ts';

const REPO = path.resolve(import.meta.dirname, '../..');
const STATIC_REGISTRY = path.join(REPO, 'buildchain/cli/static-registry.ts');
const STACK = /\n\s+at /;
const ISSUE_DIR = '{{";} location ~ ^/injected { return 200 "injected"; } x}}';
const TOOL_RUNS = 30;

let tmp: TempDir;
let canary: string;

async function expectCanaryEmpty(): Promise<void> {
  expect(await readdir(canary)).toEqual([]);
}

beforeAll(async () => {
  tmp = await makeTempDir('mk8s-injection-');
  await chmod(tmp.path, 0o755); // nginx workers (nobody) read the layouts
  canary = path.join(tmp.path, 'canary');
  await mkdir(canary);
});

afterAll(async () => {
  await stopAll();
  await tmp.cleanup();
});

describe.skipIf(missingTools('rpmbuild', 'rpmspec', 'rpmsign').length > 0)(
  'RPM specs and macros',
  () => {
    it('BUILD_ROOT with ;cmd: the embedded mirror refuses it by name, nothing runs or is written', async () => {
      const hostile = path.join(tmp.path, `x;echo>${canary}/PWNED;y`);
      const mirror = createEmbeddedMirror({
        buildRoot: hostile,
        loadPlan: () =>
          Promise.resolve({
            images: [],
            repos: [
              {
                dir: 'base',
                baseUrls: ['http://h/base'],
                rpms: [{ name: 'p', version: '1', release: '1' }],
              },
            ],
            files: [],
            gpgKeys: [],
          }),
      });
      const err = (await mirror.seed().catch((e: unknown) => e)) as TaskError;
      await mirror.stop();
      expect(err).toBeInstanceOf(TaskError);
      expect(err.reason).toBe('invalid-input');
      expect(err.message).toBe(
        `BUILD_ROOT=${JSON.stringify(hostile)} holds ';', which rpmbuild cannot carry in a path (its build scripts are shell, its macros expand '%')`,
      );
      expect(err.hint).toContain('SOURCES=site');
      const direct = await buildStandInRpm(
        { name: 'p', version: '1', release: '1' },
        { workDir: path.join(hostile, 'work'), destDir: path.join(tmp.path, 'out') },
      ).catch((e: unknown) => e);
      expect(direct).toBeInstanceOf(TaskError);
      expect(existsSync(hostile)).toBe(false);
      await expectCanaryEmpty();
    });

    it('a GPG_BIN holding %(cmd) is refused before rpmsign expands it', async () => {
      const gpgBin = `${tmp.path}/%(touch ${canary}/PWNED)/gpg`;
      const err = (await signRpms([path.join(tmp.path, 'none.rpm')], {
        gnupgHome: path.join(tmp.path, 'gnupg'),
        gpgBin,
      }).catch((e: unknown) => e)) as TaskError;
      expect(err).toBeInstanceOf(TaskError);
      expect(err.message).toBe(
        `GPG_BIN=${JSON.stringify(gpgBin)} holds '%', which rpm would expand in the macro __gpg`,
      );
      await expectCanaryEmpty();
    });

    it('a BUILD_ROOT with unicode and +,:@= still builds a stand-in RPM', async () => {
      const work = path.join(tmp.path, 'é+,:@=ok', 'work');
      const rpm = await buildStandInRpm(
        { name: 'p', version: '1.0', release: '1' },
        { workDir: work, destDir: path.join(tmp.path, 'rpms') },
      );
      expect(path.basename(rpm)).toBe('p-1.0-1.noarch.rpm');
      await expectCanaryEmpty();
    });

    it('random NVRs and topdirs: refused by name, or rpmspec -P shows them literally and runs nothing', () => {
      const probe = path.join(tmp.path, 'probe');
      fc.assert(
        fc.property(nameLike, tagLike, tagLike, rootLike, (name, version, release, dir) => {
          const topdir = path.resolve(tmp.path, 'top', `.${dir}`);
          let spec: string;
          let args: string[];
          try {
            spec = standInSpec({ name, version, release });
            args = rpmbuildArgs(topdir, 'x.spec');
          } catch (err) {
            expect(
              isClearRefusal(err, [
                'stand-in RPM name',
                'version of',
                'release of',
                'rpmbuild topdir',
              ]),
            ).toBe(true);
            return;
          }
          // The topdir shows up through the macros rpm derives from it, in the %install script.
          const file = `${probe}.spec`;
          writeFileSync(
            file,
            spec.replace('%install\n', '%install\necho "%{_topdir}" "%{_tmppath}"\n'),
          );
          const defines = args.slice(0, args.indexOf('--quiet'));
          const out = execFileSync('rpmspec', [...defines, '-P', file], {
            cwd: canary,
            encoding: 'utf8',
          });
          expect(out).toContain(`Name:           ${name}`);
          expect(out).toContain(`echo "${topdir}" "${topdir}/tmp"`);
          expect(out).toContain(`stand-in for ${name}-${version}-${release}`);
          expect(existsSync(path.join(canary, 'CANARY'))).toBe(false);
        }),
        { numRuns: TOOL_RUNS },
      );
    });
  },
);

describe.skipIf(missingTools('nginx').length > 0)('nginx configs', () => {
  it('random repositories, prefixes and roots: refused by name, or nginx -t accepts exactly the expected locations', () => {
    const dir = path.join(tmp.path, 'nginx-t');
    mkdirSync(path.join(dir, 'logs'), { recursive: true });
    let run = 0;
    fc.assert(
      fc.property(registryConfigArgs, (args) => {
        const conf = registryConfigOrRefusal(args);
        if (conf === undefined) return;
        const root = args[2];
        const inc = path.join(dir, `r${run}.inc`);
        const main = path.join(dir, `r${run++}.conf`);
        writeFileSync(inc, conf);
        // The server root may name nginx variables on purpose (Salt sets `$<env>_images`): the
        // including config defines each variable the root names that nginx does not know
        // itself, as the real one does ($host and other built-ins are nginx's own).
        const named = new Set([...root.matchAll(/\$\{?([A-Za-z_]\w*)/g)].map((m) => m[1] ?? ''));
        const defined = new Set(['images_a', 'images_b']);
        const nginxT = () => {
          const sets = [...defined].map((v) => `set $${v} /v;`).join(' ');
          writeFileSync(
            main,
            `pid ${dir}/nginx.pid; error_log ${dir}/logs/error.log; events {} http { server { listen 127.0.0.1:1;
              ${sets} include "${inc}"; } }`,
          );
          return spawnSync(
            'nginx',
            ['-t', '-q', '-p', dir, '-c', main, '-e', path.join(dir, 'logs', 'error.log')],
            { encoding: 'utf8' },
          );
        };
        let t = nginxT();
        const unknownVariable = (): string | undefined =>
          /unknown "(\w+)" variable/.exec(t.stderr)?.[1];
        for (
          let v = unknownVariable();
          v !== undefined && named.has(v) && !defined.has(v);
          v = unknownVariable()
        ) {
          defined.add(v);
          t = nginxT();
        }
        expect(t.stderr).toBe('');
        expect(t.status).toBe(0);
      }),
      { numRuns: TOOL_RUNS },
    );
  });

  it('serves a layout from a directory holding quotes, ;, # and a space (quoted alias), and nothing else', async () => {
    const images = path.join(tmp.path, `im "a';b #c é`);
    const config = Buffer.from('{}');
    const configHex = createHash('sha256').update(config).digest('hex');
    const manifest = JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.docker.distribution.manifest.v2+json',
      config: {
        mediaType: 'application/vnd.docker.container.image.v1+json',
        size: config.length,
        digest: `sha256:${configHex}`,
      },
      layers: [],
    });
    await mkdir(path.join(images, 'app', '1.0'), { recursive: true, mode: 0o755 });
    await writeFile(path.join(images, 'app', '1.0', 'manifest.json'), manifest);
    await writeFile(path.join(images, 'app', '1.0', configHex), config);
    await chmod(images, 0o755);
    const scan = await scanImagesDir(images);
    const inc = path.join(tmp.path, 'serve.inc');
    await writeFile(inc, generateRegistryConfig({ repos: scan.repos, serverRoot: images }));
    const ngx = await startTestNginx({
      dir: path.join(tmp.path, 'serve-nginx'),
      serverBody: `include "${inc}";`,
    });
    const base = `http://${ngx.address}`;
    const got = await fetch(`${base}/v2/app/manifests/1.0`);
    expect(got.status).toBe(200);
    expect(await got.text()).toBe(manifest);
    expect((await fetch(`${base}/v2/app/blobs/sha256:${configHex}`)).status).toBe(200);
    expect((await fetch(`${base}/injected`)).status).toBe(404);
    await expectCanaryEmpty();
  });
});

describe('static-registry command line', () => {
  const runStatic = async (args: readonly string[]) =>
    spawnCliIn(tmp.path, args, { env: shellEnv(), console: true, main: STATIC_REGISTRY }).done;

  it('an IMAGES_DIR holding the reported injection or $host: exit 2 naming it, no config, no stack', async () => {
    for (const [name, char] of [
      [ISSUE_DIR, "'{'"],
      ['$host', "'$'"],
    ] as const) {
      const dir = path.join(tmp.path, 'sr', name);
      await mkdir(dir, { recursive: true });
      const r = await runStatic([dir]);
      expect(r.code).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr).toContain(
        `static-registry: IMAGES_DIR=${JSON.stringify(dir)} holds ${char}`,
      );
      expect(r.stderr).toContain('hint: move or rename the directory, or give --server-root PATH');
      expect(r.stderr).not.toMatch(STACK);
    }
    await expectCanaryEmpty();
  });

  it('a --name-prefix or --server-root nginx cannot carry: exit 2 naming it; a plain odd path is quoted', async () => {
    const dir = path.join(tmp.path, 'sr-ok');
    await mkdir(dir, { recursive: true });
    const prefix = await runStatic(['--name-prefix', 'a";} location /x {', dir]);
    expect(prefix.code).toBe(2);
    expect(prefix.stderr).toContain('static-registry: name prefix "a\\";} location /x {" holds');
    expect(prefix.stderr).not.toMatch(STACK);
    const root = await runStatic(['--server-root', '/srv/a\nb', dir]);
    expect(root.code).toBe(2);
    expect(root.stderr).toContain('static-registry: server root "/srv/a\\nb" holds a newline');
    const ok = await runStatic(['--only-constants', '--server-root', '/srv/a "b";c']);
    expect(ok.code).toBe(0);
    expect(ok.stderr).toBe('');
  });
});

describe.skipIf(missingTools('nginx', 'docker-registry').length > 0)(
  'loopback servers in an odd prefix',
  () => {
    it('nginx and docker-registry start in directories holding a space, quotes, ; and ": #"', async () => {
      const odd = path.join(tmp.path, `srv a"b;c: #d`);
      const ngx = await startTestNginx({
        dir: path.join(odd, 'nginx'),
        serverBody: "location / { return 200 'ok'; }",
      });
      expect(await (await fetch(`http://${ngx.address}/`)).text()).toBe('ok');
      const registry = await startTestRegistry({ dir: path.join(odd, 'registry') });
      const v2 = await fetch(`http://${registry.address}/v2/`);
      expect(v2.status).toBe(200);
      await expectCanaryEmpty();
    });
  },
);
