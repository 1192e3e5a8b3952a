/**
 * The build cache against a real loopback distribution registry with basic auth: cacheable
 * task outputs restored in a fresh clone at another path, read mode never writing, corrupt,
 * missing and unreachable entries falling back to running the task, a tampered restored
 * target brought back, and the maintainers' `cache status|prune`.
 */
import { readFileSync, statSync, writeFileSync, readlinkSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { MEDIA_OCI_MANIFEST, sha256Digest } from '../../buildchain/lib/oci/manifest.ts';
import { missingTools } from '../helpers/require-tool.ts';
import { runCli, runCliHere, shellEnv } from '../helpers/run-cli.ts';
import { createWorkspace, type Workspace } from '../helpers/workspace.ts';
import type { JsonEvent } from '../helpers/ndjson.ts';
import {
  countFiles,
  dropInlineLayer,
  cacheRegistryHooks,
  type CacheRegistry,
} from './cache-fixture.ts';

const missing = missingTools('docker-registry', 'htpasswd');

// `gen` is cacheable: a file and a tree (subdirectory, symlink, executable file). Each real
// run appends to runs.txt (not an output): a restore leaves it alone. `use` reads gen's file.
const TASKS = `
  const b = config.buildRoot;
  return [
    {
      name: 'gen',
      fileDeps: ['input.txt'],
      targets: [b + '/out/gen.txt', b + '/out/tree'],
      cacheable: true,
      actions: [sh('echo run >> runs.txt && rm -rf _build/out/tree && mkdir -p _build/out/tree/sub && cat input.txt input.txt > _build/out/gen.txt && printf x > _build/out/tree/sub/a && ln -s a _build/out/tree/sub/link && cp input.txt _build/out/tree/run.sh && chmod 755 _build/out/tree/run.sh')],
    },
    {
      name: 'use',
      fileDeps: [b + '/out/gen.txt'],
      targets: [b + '/use.txt'],
      actions: [sh('cp _build/out/gen.txt _build/use.txt')],
    },
  ];
`;

let reg: CacheRegistry;
const workspaces: Workspace[] = [];

async function clone(input: string): Promise<Workspace> {
  const ws = await createWorkspace(TASKS);
  ws.write('input.txt', input);
  workspaces.push(ws);
  return ws;
}

function runs(ws: Workspace): number {
  return ws.exists('runs.txt')
    ? ws
        .read('runs.txt')
        .split('\n')
        .filter((l) => l !== '').length
    : 0;
}

function warnings(events: readonly JsonEvent[]): string[] {
  return events
    .filter((e) => e.event === 'output' && String(e.line).startsWith('warning: '))
    .map((e) => String(e.line));
}

function kinds(events: readonly JsonEvent[], task: string): string[] {
  return events
    .filter((e) => e.task === task)
    .map((e) => `${e.event}${e.reason === undefined ? '' : `:${e.reason}`}`);
}

function expectOutputs(ws: Workspace, input: string): void {
  expect(ws.read('_build/out/gen.txt')).toBe(input + input);
  expect(ws.read('_build/out/tree/sub/a')).toBe('x');
  expect(readlinkSync(ws.path('_build/out/tree/sub/link'))).toBe('a');
  expect(statSync(ws.path('_build/out/tree/run.sh')).mode & 0o777).toBe(0o755);
  expect(ws.read('_build/use.txt')).toBe(input + input);
}

describe.skipIf(missing.length > 0)('build cache on a registry with basic auth', () => {
  cacheRegistryHooks('mk8s-cache-', (r) => (reg = r), workspaces);

  it('restores a task in a fresh clone at another path; the entry is shared, checked and recorded', async () => {
    const a = await clone('alpha\n');
    const ra = await runCli(a, ['use'], { env: reg.env('ci/shared', 'readwrite') });
    expect(ra.code, ra.stderr).toBe(0);
    expect(kinds(ra.events, 'gen')).toContain('start');
    expect(warnings(ra.events)).toEqual([]);
    expect(await reg.client('ci/shared').listTags()).toHaveLength(1);

    // Another clone, elsewhere, empty _build, read mode: gen comes from the cache.
    const b = await clone('alpha\n');
    expect(b.dir).not.toBe(a.dir);
    const rb = await runCli(b, ['use'], { env: reg.env('ci/shared', 'read') });
    expect(rb.code, rb.stderr).toBe(0);
    expect(kinds(rb.events, 'gen')).toEqual(['cached']);
    expect(runs(b)).toBe(0);
    expectOutputs(b, 'alpha\n');
    const summary = rb.events.find((e) => e.event === 'summary') as unknown as {
      counts: { cached?: number };
    };
    expect(summary.counts.cached).toBe(1);

    // Recorded like a run: the next build has nothing to do.
    const again = await runCli(b, ['use'], { env: reg.env('ci/shared', 'read') });
    expect(kinds(again.events, 'gen')).toEqual(['skip:up-to-date']);

    // The console marks it.
    b.remove('_build');
    const shown = await runCli(b, ['use'], { env: reg.env('ci/shared', 'read'), console: true });
    expect(shown.stdout).toContain('<< gen (restored from cache)');
    expect(shown.stdout).toMatch(/1 restored from cache/);
  });

  it('a restored target tampered on disk is not up to date: it is brought back', async () => {
    const b = await clone('tamper\n');
    const w = await runCli(b, ['use'], { env: reg.env('ci/tamper', 'readwrite') });
    expect(w.code, w.stderr).toBe(0);
    b.remove('_build');
    expect((await runCli(b, ['use'], { env: reg.env('ci/tamper', 'read') })).code).toBe(0);
    writeFileSync(b.path('_build/out/gen.txt'), 'edited by hand\n');
    const r = await runCli(b, ['use'], { env: reg.env('ci/tamper', 'read') });
    expect(r.code, r.stderr).toBe(0);
    const gen = kinds(r.events, 'gen');
    expect(gen).not.toContain('skip:up-to-date');
    expect(gen.some((k) => k === 'cached' || k === 'start')).toBe(true);
    expectOutputs(b, 'tamper\n');
  });

  it('an entry linking to a dependency output that differs here is not used: warning, the task runs', async () => {
    // `dl` is not reproducible (its output names the clone); `repo` hard-links it and records
    // it as a link (linkFrom), so its entry holds only its own file.
    const tasks = `
      const b = config.buildRoot;
      return [
        {
          name: 'dl',
          targets: [b + '/dl/f.bin'],
          actions: [sh('mkdir -p _build/dl && pwd > _build/dl/f.bin')],
        },
        {
          name: 'repo',
          taskDeps: ['dl'],
          targets: [b + '/repo'],
          cacheable: { linkFrom: [b + '/dl'] },
          actions: [sh('echo run >> runs.txt && rm -rf _build/repo && mkdir -p _build/repo && ln _build/dl/f.bin _build/repo/f.bin && echo meta > _build/repo/meta')],
        },
      ];
    `;
    const a = await createWorkspace(tasks);
    const b = await createWorkspace(tasks);
    workspaces.push(a, b);
    const ra = await runCli(a, ['repo'], { env: reg.env('ci/links', 'readwrite') });
    expect(ra.code, ra.stderr).toBe(0);
    expect(warnings(ra.events)).toEqual([]);
    const rb = await runCli(b, ['repo'], { env: reg.env('ci/links', 'read') });
    expect(rb.code, rb.stderr).toBe(0);
    expect(kinds(rb.events, 'repo')).toContain('start');
    expect(warnings(rb.events)).toEqual([
      expect.stringMatching(
        /^warning: build cache oci:\/\/.*: entry for repo not usable here, the task runs: B\/repo\/f\.bin links to B\/dl\/f\.bin, which differs from what the entry recorded here$/,
      ),
    ]);
    expect(runs(b)).toBe(1);
    expect(b.read('_build/repo/f.bin')).toBe(`${b.dir}\n`);
    // Where the linked file matches (A itself, its repo removed): restored, as a hard link.
    a.remove('_build/repo');
    const again = await runCli(a, ['repo'], { env: reg.env('ci/links', 'read') });
    expect(kinds(again.events, 'repo')).toEqual(['cached']);
    expect(statSync(a.path('_build/repo/f.bin')).ino).toBe(statSync(a.path('_build/dl/f.bin')).ino);
  });

  it('read mode never writes to the registry', async () => {
    const before = countFiles(reg.dataDir);
    const tagsBefore = await reg.client('ci/read-only').listTags();
    const c = await clone('never written\n');
    const r = await runCli(c, ['use'], { env: reg.env('ci/read-only', 'read') });
    expect(r.code, r.stderr).toBe(0);
    expect(kinds(r.events, 'gen')).toContain('start');
    expectOutputs(c, 'never written\n');
    expect(await reg.client('ci/read-only').listTags()).toEqual(tagsBefore);
    expect(countFiles(reg.dataDir)).toBe(before);
  });

  it('a corrupt layer is never unpacked: warning, the task runs', async () => {
    const a = await clone('corrupt me\n');
    expect((await runCli(a, ['use'], { env: reg.env('ci/corrupt', 'readwrite') })).code).toBe(0);
    const client = reg.client('ci/corrupt');
    const [tag] = await client.listTags();
    const m = await client.getManifest(tag ?? '', MEDIA_OCI_MANIFEST);
    const layer = (JSON.parse(m?.bytes.toString() ?? '{}') as { layers: { digest: string }[] })
      .layers[0]?.digest;
    expect(layer).toBeDefined();
    // Fetched as a blob (not inline): same size, other bytes: only the digest check can tell.
    await dropInlineLayer(client, tag ?? '');
    const file = reg.blobFile(layer ?? '');
    const bytes = readFileSync(file);
    writeFileSync(
      file,
      Buffer.from(bytes.toString('latin1').replace(/corrupt me/g, 'CORRUPTED!'), 'latin1'),
    );

    const b = await clone('corrupt me\n');
    const r = await runCli(b, ['use'], { env: reg.env('ci/corrupt', 'read') });
    expect(r.code, r.stderr).toBe(0);
    expect(kinds(r.events, 'gen')).toContain('start');
    expect(warnings(r.events).join('\n')).toMatch(
      /corrupt entry for gen, not used: layer sha256:[a-f0-9]+ does not match its digest/,
    );
    expect(runs(b)).toBe(1);
    expectOutputs(b, 'corrupt me\n');
    expect(b.read('_build/out/gen.txt')).not.toContain('CORRUPTED');
  });

  it('an entry whose files do not match its record is not used, and a readwrite runner replaces it', async () => {
    const a = await clone('lying\n');
    expect((await runCli(a, ['use'], { env: reg.env('ci/lying', 'readwrite') })).code).toBe(0);
    const client = reg.client('ci/lying');
    const [tag] = await client.listTags();
    const m = await client.getManifest(tag ?? '', MEDIA_OCI_MANIFEST);
    const doc = JSON.parse(m?.bytes.toString() ?? '{}') as {
      config: { digest: string; size: number; data?: string };
    };
    const body = await client.getBlob(doc.config.digest);
    if (body === undefined) throw new Error('config blob missing');
    const { readBody } = await import('../../buildchain/lib/http/body.ts');
    const config = JSON.parse((await readBody(body)).toString()) as {
      entries: { path: string; sha256?: string }[];
    };
    for (const e of config.entries) if (e.path === 'B/out/gen.txt') e.sha256 = '0'.repeat(64);
    const bytes = Buffer.from(JSON.stringify(config));
    const digest = sha256Digest(bytes);
    await client.putBlob(digest, bytes.length, () => bytes);
    // The manifest carries the config inline too (`data`): both say the same lie.
    doc.config = { ...doc.config, digest, size: bytes.length, data: bytes.toString('base64') };
    await client.putManifest(tag ?? '', Buffer.from(JSON.stringify(doc)), MEDIA_OCI_MANIFEST);

    const b = await clone('lying\n');
    const rb = await runCli(b, ['use'], { env: reg.env('ci/lying', 'read') });
    expect(rb.code, rb.stderr).toBe(0);
    expect(kinds(rb.events, 'gen')).toContain('start');
    expect(warnings(rb.events).join('\n')).toMatch(
      /corrupt entry for gen, not used: B\/out\/gen\.txt does not match its recorded sha256/,
    );
    expectOutputs(b, 'lying\n');

    // A readwrite runner meeting it uploads a good one; the next runner restores it.
    const c = await clone('lying\n');
    const rc = await runCli(c, ['use'], { env: reg.env('ci/lying', 'readwrite') });
    expect(kinds(rc.events, 'gen')).toContain('start');
    const d = await clone('lying\n');
    const rd = await runCli(d, ['use'], { env: reg.env('ci/lying', 'read') });
    expect(kinds(rd.events, 'gen')).toEqual(['cached']);
    expect(warnings(rd.events)).toEqual([]);
    expectOutputs(d, 'lying\n');
  });

  it('an entry lacking a target (outputs declared wrong) is not used: the task runs, the build passes', async () => {
    const body = `
      const b = config.buildRoot;
      return [{
        name: 'gen',
        fileDeps: ['input.txt'],
        targets: [b + '/out/gen.txt'],
        cacheable: { outputs: [b + '/out/side.txt'] },
        actions: [sh('echo run >> runs.txt && mkdir -p _build/out && cp input.txt _build/out/gen.txt && cp input.txt _build/out/side.txt')],
      }];`;
    const a = await createWorkspace(body);
    const b = await createWorkspace(body);
    workspaces.push(a, b);
    a.write('input.txt', 'outputs\n');
    b.write('input.txt', 'outputs\n');
    expect((await runCli(a, ['gen'], { env: reg.env('ci/outputs', 'readwrite') })).code).toBe(0);
    const r = await runCli(b, ['gen'], { env: reg.env('ci/outputs', 'read') });
    expect(r.code, r.stderr).toBe(0);
    expect(kinds(r.events, 'gen')).toContain('start');
    expect(warnings(r.events).join('\n')).toMatch(
      /gen: the entry lacks _build\/out\/gen\.txt; running the task/,
    );
    expect(b.read('_build/out/gen.txt')).toBe('outputs\n');
  });

  it('a missing layer falls back to running the task', async () => {
    const a = await clone('missing layer\n');
    expect((await runCli(a, ['use'], { env: reg.env('ci/missing', 'readwrite') })).code).toBe(0);
    const client = reg.client('ci/missing');
    const [tag] = await client.listTags();
    const m = await client.getManifest(tag ?? '', MEDIA_OCI_MANIFEST);
    const layer = (JSON.parse(m?.bytes.toString() ?? '{}') as { layers: { digest: string }[] })
      .layers[0]?.digest;
    const { rmSync } = await import('node:fs');
    await dropInlineLayer(client, tag ?? '');
    rmSync(path.dirname(reg.blobFile(layer ?? '')), { recursive: true });

    const b = await clone('missing layer\n');
    const r = await runCli(b, ['use'], { env: reg.env('ci/missing', 'read') });
    expect(r.code, r.stderr).toBe(0);
    expect(kinds(r.events, 'gen')).toContain('start');
    expect(warnings(r.events).join('\n')).toMatch(/gen/);
    expectOutputs(b, 'missing layer\n');
  });

  it('an unreachable registry: one warning, every task runs, the build succeeds', async () => {
    const c = await clone('offline\n');
    const env = {
      ...reg.env('ci/x', 'readwrite'),
      BUILD_CACHE: 'oci://127.0.0.1:9/ci/x',
      INSECURE_REGISTRIES: '127.0.0.1:9',
    };
    const t0 = Date.now();
    const r = await runCli(c, ['use'], { env });
    expect(r.code, r.stderr).toBe(0);
    expect(Date.now() - t0).toBeLessThan(15_000);
    expect(kinds(r.events, 'gen')).toContain('start');
    const w = warnings(r.events);
    expect(w).toHaveLength(1);
    expect(w[0]).toMatch(
      /build cache oci:\/\/127\.0\.0\.1:9\/ci\/x: .*cannot reach the registry 127\.0\.0\.1:9.*off for the rest of this build/,
    );
    expectOutputs(c, 'offline\n');
  });

  it('TLS is on unless the host is listed insecure: a plain-HTTP cache then warns how to fix it', async () => {
    const c = await clone('tls\n');
    const r = await runCli(c, ['use'], {
      env: { ...reg.env('ci/tls', 'readwrite'), INSECURE_REGISTRIES: '' },
    });
    expect(r.code, r.stderr).toBe(0);
    expect(kinds(r.events, 'gen')).toContain('start');
    const w = warnings(r.events);
    expect(w).toHaveLength(1);
    expect(w[0]).toMatch(
      /cannot reach the registry 127\.0\.0\.1:\d+: .*\(a registry without TLS must be listed in INSECURE_REGISTRIES\)/,
    );
    expectOutputs(c, 'tls\n');
  });

  it('refused credentials: a warning naming the fix, the task runs', async () => {
    const c = await clone('bad password\n');
    const r = await runCli(c, ['use'], { env: reg.env('ci/auth', 'readwrite', reg.badAuthFile) });
    expect(r.code, r.stderr).toBe(0);
    expect(kinds(r.events, 'gen')).toContain('start');
    expect(warnings(r.events).join('\n')).toMatch(/refused access .*HTTP 401/);
    expectOutputs(c, 'bad password\n');
  });

  it('bad settings exit 2 naming the setting, before anything runs', async () => {
    const c = await clone('settings\n');
    const bad = await runCli(c, ['use'], { env: { BUILD_CACHE: 'https://cache.example.com/x' } });
    expect(bad.code).toBe(2);
    expect(bad.stdout + bad.stderr).toMatch(
      /BUILD_CACHE=https:\/\/cache\.example\.com\/x is not oci:\/\/HOST\[:PORT\]\/REPO: it must start with oci:\/\//,
    );
    const mode = await runCli(c, ['use'], {
      env: { BUILD_CACHE: 'oci://cache.example.com/x', BUILD_CACHE_MODE: 'write' },
    });
    expect(mode.code).toBe(2);
    expect(mode.stdout + mode.stderr).toMatch(/BUILD_CACHE_MODE=write is not read or readwrite/);
    expect(runs(c)).toBe(0);
  });

  it('cache status and prune --older-than', async () => {
    const a = await clone('status\n');
    expect((await runCli(a, ['use'], { env: reg.env('ci/maint', 'readwrite') })).code).toBe(0);
    const env = shellEnv(reg.env('ci/maint', 'readwrite'));
    const st = await runCliHere(a.dir, ['cache', 'status'], { env, console: true });
    expect(st.code, st.stderr).toBe(0);
    expect(st.stdout).toMatch(/cache oci:\/\/127\.0\.0\.1:\d+\/ci\/maint \(mode readwrite\)/);
    expect(st.stdout).toMatch(/task outputs: 1 entries/);

    const young = await runCliHere(a.dir, ['cache', 'prune', '--older-than', '1d'], {
      env,
      console: true,
    });
    expect(young.code, young.stderr).toBe(0);
    expect(young.stdout).toMatch(/pruned 0 entries/);
    expect(await reg.client('ci/maint').listTags()).toHaveLength(1);

    const ro = await runCliHere(a.dir, ['cache', 'prune', '--older-than', '1d'], {
      env: shellEnv(reg.env('ci/maint', 'read')),
      console: true,
    });
    expect(ro.code).toBe(2);
    expect(ro.stderr).toMatch(/BUILD_CACHE_MODE is read/);
    const noAge = await runCliHere(a.dir, ['cache', 'prune'], { env, console: true });
    expect(noAge.code).toBe(2);
    expect(noAge.stderr).toMatch(/cache prune needs --older-than D/);
    const badAge = await runCliHere(a.dir, ['cache', 'prune', '--older-than', 'soon'], {
      env,
      console: true,
    });
    expect(badAge.code).toBe(2);
    expect(badAge.stderr).toMatch(/--older-than needs an age like 30m, 12h, 7d or 2w, got "soon"/);
    const unset = await runCliHere(a.dir, ['cache', 'status'], { env: shellEnv(), console: true });
    expect(unset.code).toBe(2);
    expect(unset.stderr).toMatch(/BUILD_CACHE is not set/);
    const down = await runCliHere(a.dir, ['cache', 'status'], {
      env: shellEnv({ BUILD_CACHE: 'oci://127.0.0.1:9/x', INSECURE_REGISTRIES: '127.0.0.1:9' }),
      console: true,
    });
    expect(down.code).toBe(1);
    expect(down.stderr).toMatch(/cannot reach the registry 127\.0\.0\.1:9/);
    expect(down.stderr).not.toMatch(/\n\s+at /);

    // Entries created before a moment in the future: all of them; then a build misses.
    const { buildCacheOf } = await import('../../buildchain/cli/cache.ts');
    const { loadConfig } = await import('../../buildchain/config/load.ts');
    const cache = buildCacheOf(loadConfig(a.dir, { ...reg.env('ci/maint', 'readwrite') }));
    const removed = await cache?.prune(new Date(Date.now() + 60_000));
    expect(removed?.map((e) => e.kind)).toEqual(['task']);
    expect(await reg.client('ci/maint').listTags()).toEqual([]);
    const b = await clone('status\n');
    const rb = await runCli(b, ['use'], { env: reg.env('ci/maint', 'read') });
    expect(kinds(rb.events, 'gen')).toContain('start');
  });
});
