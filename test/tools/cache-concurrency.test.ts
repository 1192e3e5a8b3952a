/**
 * What makes restores cheap, against a real loopback distribution registry with basic auth:
 * - they hold no worker (engine/scheduler.ts, engine/cache/task-cache.ts): with `-n 1`,
 *   several cacheable tasks restore side by side, and a corrupt or missing entry among them
 *   falls back to running that task only (waiting for the worker), the others restored;
 * - the entry's config travels inline in its manifest (`data`): no request for it; an entry
 *   of an older writer (config as a blob only) still restores; inline data not matching its
 *   digest is a corrupt entry.
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { MEDIA_OCI_MANIFEST, sha256Digest } from '../../buildchain/lib/oci/manifest.ts';
import { RESTORES_AT_ONCE } from '../../buildchain/engine/cache/task-cache.ts';
import { missingTools } from '../helpers/require-tool.ts';
import { runCli } from '../helpers/run-cli.ts';
import { createWorkspace, type Workspace } from '../helpers/workspace.ts';
import type { JsonEvent } from '../helpers/ndjson.ts';
import { dropInlineLayer, cacheRegistryHooks, type CacheRegistry } from './cache-fixture.ts';

const missing = missingTools('docker-registry', 'htpasswd');

const N = 6;
// g1..gN are cacheable and independent (each counts its real runs in runs-gI.txt, not an
// output); `all` needs every one of them.
const TASKS = `
  const b = config.buildRoot;
  const gens = [${Array.from({ length: N }, (_, i) => i + 1).join(', ')}].map((i) => ({
    name: 'g' + i,
    fileDeps: ['input.txt'],
    targets: [b + '/out/g' + i + '.txt'],
    cacheable: true,
    actions: [sh('echo run >> runs-g' + i + '.txt && mkdir -p _build/out && (echo ' + i + ' && cat input.txt) > _build/out/g' + i + '.txt')],
  }));
  return [
    ...gens,
    {
      name: 'all',
      fileDeps: gens.map((g) => g.targets[0]),
      targets: [b + '/all.txt'],
      actions: [sh('cat _build/out/g*.txt > _build/all.txt')],
    },
  ];
`;

let reg: CacheRegistry;
const workspaces: Workspace[] = [];

async function clone(): Promise<Workspace> {
  const ws = await createWorkspace(TASKS);
  ws.write('input.txt', 'shared input\n');
  workspaces.push(ws);
  return ws;
}

function runsOf(ws: Workspace, task: string): number {
  return ws.exists(`runs-${task}.txt`) ? ws.read(`runs-${task}.txt`).trim().split('\n').length : 0;
}

/** [start, end] (ms) of each restored task, from its `cached` event. */
function restoreSpans(events: readonly JsonEvent[]): [number, number][] {
  return events
    .filter((e) => e.event === 'cached')
    .map((e) => [Number(e.ts) - Number(e.durationMs), Number(e.ts)] as [number, number])
    .sort((x, y) => x[0] - y[0]);
}

/** Most restores in progress at one time. */
function maxOverlap(spans: readonly [number, number][]): number {
  let best = 0;
  for (const [s] of spans) best = Math.max(best, spans.filter(([a, b]) => a <= s && s < b).length);
  return best;
}

interface EntryManifest {
  config: { digest: string; size: number; data?: string };
  layers: { digest: string; data?: string }[];
  annotations?: Record<string, string>;
}

/** The only entry of `task` in the repository: its tag, manifest and layer digest. */
async function layerOf(
  repo: string,
  task: string,
): Promise<{ tag: string; layer: string; doc: EntryManifest }> {
  const client = reg.client(repo);
  for (const tag of await client.listTags()) {
    const m = await client.getManifest(tag, MEDIA_OCI_MANIFEST);
    const doc = JSON.parse(m?.bytes.toString() ?? '{}') as EntryManifest;
    if (doc.annotations?.['io.metalk8s.buildchain.task'] === task)
      return { tag, layer: doc.layers[0]?.digest ?? '', doc };
  }
  throw new Error(`no entry for ${task}`);
}

function warningsOf(events: readonly JsonEvent[]): string[] {
  return events
    .filter((e) => e.event === 'output' && String(e.line).startsWith('warning: '))
    .map((e) => String(e.line));
}

function outcome(events: readonly JsonEvent[], task: string): string[] {
  return events
    .filter((e) => e.task === task && (e.event === 'cached' || e.event === 'start'))
    .map((e) => e.event);
}

describe.skipIf(missing.length > 0)('build cache: restores beside the workers', () => {
  cacheRegistryHooks('mk8s-cache-conc-', (r) => (reg = r), workspaces);

  it('with one worker, several restores run at once; the outputs and records are those of a run', async () => {
    const a = await clone();
    const ra = await runCli(a, ['-n', '1', 'all'], { env: reg.env('ci/conc', 'readwrite') });
    expect(ra.code, ra.stderr).toBe(0);

    const b = await clone();
    const rb = await runCli(b, ['-n', '1', 'all'], { env: reg.env('ci/conc', 'read') });
    expect(rb.code, rb.stderr).toBe(0);
    const spans = restoreSpans(rb.events);
    expect(spans).toHaveLength(N);
    // One worker and one restore at a time would never overlap.
    expect(maxOverlap(spans)).toBeGreaterThan(1);
    expect(maxOverlap(spans)).toBeLessThanOrEqual(RESTORES_AT_ONCE);
    for (let i = 1; i <= N; i++) expect(runsOf(b, `g${i}`)).toBe(0);
    expect(b.read('_build/all.txt')).toBe(a.read('_build/all.txt'));
    const again = await runCli(b, ['-n', '1', 'all'], { env: reg.env('ci/conc', 'read') });
    expect(
      again.events.filter((e) => e.event === 'start' || e.event === 'cached').map((e) => e.task),
    ).toEqual([]);
  });

  it('a corrupt and a missing entry among several: those two tasks run, the others are restored', async () => {
    const a = await clone();
    const ra = await runCli(a, ['-n', '1', 'all'], { env: reg.env('ci/mixed', 'readwrite') });
    expect(ra.code, ra.stderr).toBe(0);
    // g2's layer: same size, other bytes (only the digest check can tell); g5's entry is gone.
    // Both fetched as blobs (not inline, as larger layers are).
    const g2 = await layerOf('ci/mixed', 'g2');
    await dropInlineLayer(reg.client('ci/mixed'), g2.tag);
    const file = reg.blobFile(g2.layer);
    writeFileSync(
      file,
      Buffer.from(
        readFileSync(file).toString('latin1').replace('shared input', 'SHARED INPUT'),
        'latin1',
      ),
    );
    const g5 = await layerOf('ci/mixed', 'g5');
    await dropInlineLayer(reg.client('ci/mixed'), g5.tag);
    rmSync(path.dirname(reg.blobFile(g5.layer)), { recursive: true });

    const b = await clone();
    const rb = await runCli(b, ['-n', '1', 'all'], { env: reg.env('ci/mixed', 'read') });
    expect(rb.code, rb.stderr).toBe(0);
    const restored = rb.events.filter((e) => e.event === 'cached').map((e) => e.task);
    const ran = rb.events.filter((e) => e.event === 'start').map((e) => e.task);
    expect(restored.sort()).toEqual(['g1', 'g3', 'g4', 'g6']);
    expect(ran.sort()).toEqual(['all', 'g2', 'g5']);
    expect(runsOf(b, 'g2')).toBe(1);
    expect(runsOf(b, 'g5')).toBe(1);
    expect(runsOf(b, 'g1')).toBe(0);
    const warnings = rb.events
      .filter((e) => e.event === 'output' && String(e.line).startsWith('warning: '))
      .map((e) => String(e.line));
    expect(warnings).toHaveLength(2);
    expect(warnings.join('\n')).toMatch(
      /corrupt entry for g2, not used: layer sha256:[a-f0-9]+ does not match its digest/,
    );
    expect(warnings.join('\n')).toMatch(/restoring g5|entry for g5/);
    expect(b.read('_build/out/g2.txt')).toBe('2\nshared input\n');
    expect(b.read('_build/all.txt')).toBe(a.read('_build/all.txt'));
  });

  it('the config travels inline: the entry restores with its config blob gone from the registry', async () => {
    const a = await clone();
    expect((await runCli(a, ['g1'], { env: reg.env('ci/inline', 'readwrite') })).code).toBe(0);
    const { doc } = await layerOf('ci/inline', 'g1');
    expect(doc.config.data).toBeDefined();
    expect(sha256Digest(Buffer.from(doc.config.data ?? '', 'base64'))).toBe(doc.config.digest);
    rmSync(path.dirname(reg.blobFile(doc.config.digest)), { recursive: true });

    const b = await clone();
    const rb = await runCli(b, ['g1'], { env: reg.env('ci/inline', 'read') });
    expect(rb.code, rb.stderr).toBe(0);
    expect(outcome(rb.events, 'g1')).toEqual(['cached']);
    expect(warningsOf(rb.events)).toEqual([]);
    expect(runsOf(b, 'g1')).toBe(0);
    expect(b.read('_build/out/g1.txt')).toBe('1\nshared input\n');
  });

  it("an older writer's entry (config as a blob only) restores; inline data not matching its digest is corrupt", async () => {
    const a = await clone();
    expect((await runCli(a, ['g1', 'g2'], { env: reg.env('ci/old', 'readwrite') })).code).toBe(0);
    const client = reg.client('ci/old');
    // g1: written as before inline configs (no `data`).
    const g1 = await layerOf('ci/old', 'g1');
    delete g1.doc.config.data;
    await client.putManifest(g1.tag, Buffer.from(JSON.stringify(g1.doc)), MEDIA_OCI_MANIFEST);
    // g2: inline data of another config (the blob and digest untouched).
    const g2 = await layerOf('ci/old', 'g2');
    g2.doc.config.data = Buffer.from(
      Buffer.from(g2.doc.config.data ?? '', 'base64')
        .toString()
        .replace('"g2"', '"g9"'),
    ).toString('base64');
    await client.putManifest(g2.tag, Buffer.from(JSON.stringify(g2.doc)), MEDIA_OCI_MANIFEST);

    const b = await clone();
    const rb = await runCli(b, ['g1', 'g2'], { env: reg.env('ci/old', 'read') });
    expect(rb.code, rb.stderr).toBe(0);
    expect(outcome(rb.events, 'g1')).toEqual(['cached']);
    expect(outcome(rb.events, 'g2')).toEqual(['start']);
    expect(warningsOf(rb.events)).toEqual([
      expect.stringMatching(
        /corrupt entry for g2, not used: the inline config does not match its digest sha256:[a-f0-9]{64}$/,
      ),
    ]);
    expect(runsOf(b, 'g2')).toBe(1);
    expect(b.read('_build/out/g1.txt')).toBe('1\nshared input\n');
    expect(b.read('_build/out/g2.txt')).toBe('2\nshared input\n');
  });

  it('a small layer travels inline: the entry restores with its layer blob gone (one request)', async () => {
    const a = await clone();
    expect((await runCli(a, ['g1'], { env: reg.env('ci/inline-layer', 'readwrite') })).code).toBe(
      0,
    );
    const { doc, layer } = await layerOf('ci/inline-layer', 'g1');
    const inline = doc.layers[0]?.data;
    expect(inline).toBeDefined();
    expect(sha256Digest(Buffer.from(inline ?? '', 'base64'))).toBe(layer);
    // The blob is uploaded all the same (readers ignoring `data`).
    expect(readFileSync(reg.blobFile(layer)).toString('base64')).toBe(inline);
    rmSync(path.dirname(reg.blobFile(layer)), { recursive: true });

    const b = await clone();
    const rb = await runCli(b, ['g1'], { env: reg.env('ci/inline-layer', 'read') });
    expect(rb.code, rb.stderr).toBe(0);
    expect(outcome(rb.events, 'g1')).toEqual(['cached']);
    expect(warningsOf(rb.events)).toEqual([]);
    expect(runsOf(b, 'g1')).toBe(0);
    expect(b.read('_build/out/g1.txt')).toBe('1\nshared input\n');
  });

  it('an inline layer not matching its digest is a corrupt entry: never unpacked, the task runs', async () => {
    const a = await clone();
    expect((await runCli(a, ['g1'], { env: reg.env('ci/inline-bad', 'readwrite') })).code).toBe(0);
    const g1 = await layerOf('ci/inline-bad', 'g1');
    const layers = g1.doc.layers;
    const bytes = Buffer.from(layers[0]?.data ?? '', 'base64');
    // Same size, other bytes.
    const forged = Buffer.from(
      bytes.toString('latin1').replace('shared input', 'FORGED INPUT'),
      'latin1',
    );
    expect(forged.length).toBe(bytes.length);
    if (layers[0] !== undefined) layers[0].data = forged.toString('base64');
    await reg
      .client('ci/inline-bad')
      .putManifest(g1.tag, Buffer.from(JSON.stringify(g1.doc)), MEDIA_OCI_MANIFEST);

    const b = await clone();
    const rb = await runCli(b, ['g1'], { env: reg.env('ci/inline-bad', 'read') });
    expect(rb.code, rb.stderr).toBe(0);
    expect(outcome(rb.events, 'g1')).toEqual(['start']);
    expect(warningsOf(rb.events)).toEqual([
      expect.stringMatching(
        /corrupt entry for g1, not used: the inline layer does not match its digest sha256:[a-f0-9]{64}$/,
      ),
    ]);
    expect(runsOf(b, 'g1')).toBe(1);
    expect(b.read('_build/out/g1.txt')).toBe('1\nshared input\n');
  });

  it('a ready cacheable task is looked up at once, while the only worker runs a long task', async () => {
    // `slow` unblocks more work than g1 (two tasks wait on it): the worker takes it first.
    const tasks = TASKS.replace(
      /return \[\n {4}\.\.\.gens,/,
      `return [
    ...gens,
    { name: 'slow', actions: [sh('sleep 1.5')] },
    { name: 'after1', taskDeps: ['slow'], actions: [sh('true')] },
    { name: 'after2', taskDeps: ['slow'], actions: [sh('true')] },`,
    );
    expect(tasks).toContain("name: 'slow'");
    const a = await createWorkspace(tasks);
    const b = await createWorkspace(tasks);
    workspaces.push(a, b);
    a.write('input.txt', 'lane\n');
    b.write('input.txt', 'lane\n');
    expect(
      (await runCli(a, ['-n', '1', 'g1'], { env: reg.env('ci/lane', 'readwrite') })).code,
    ).toBe(0);
    const rb = await runCli(b, ['-n', '1', 'after1', 'after2', 'g1'], {
      env: reg.env('ci/lane', 'read'),
    });
    expect(rb.code, rb.stderr).toBe(0);
    const at = (event: string, task: string): number =>
      Number(rb.events.find((e) => e.event === event && e.task === task)?.ts);
    expect(outcome(rb.events, 'g1')).toEqual(['cached']);
    // Restored while `slow` ran (it started first and sleeps 1.5 s).
    expect(at('start', 'slow')).toBeLessThan(at('cached', 'g1'));
    expect(at('cached', 'g1')).toBeLessThan(at('done', 'slow'));
  });

  it("many requests in flight on the build's signal: no listener-leak warning", async () => {
    const seen: string[] = [];
    const onWarning = (w: Error): void => {
      seen.push(w.name);
    };
    process.on('warning', onWarning);
    try {
      const controller = new AbortController();
      const cache = reg.buildCache('ci/listeners', 'read', [], controller.signal);
      // 24 blob fetches at once (absent blobs: 404s), each listening to the signal meanwhile.
      const digests = Array.from({ length: 24 }, (_, i) => sha256Digest(`absent ${i}`));
      expect(await Promise.all(digests.map((d) => cache.openBlob(d)))).toEqual(
        digests.map(() => undefined),
      );
      await new Promise((r) => setImmediate(r));
    } finally {
      process.off('warning', onWarning);
    }
    expect(seen).not.toContain('MaxListenersExceededWarning');
  });
});
