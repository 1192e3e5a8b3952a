/**
 * `verify` on damaged Solution ISOs: the example's staged root, altered one way per case, written
 * with the same ISO writer (or the good ISO altered after the build). Each case must yield its
 * specific problem code and a non-zero CLI exit.
 */
import { cp, readdir, readFile, rm, truncate, writeFile, open } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runSolutionCli } from '../../buildchain/cli/solution.ts';
import { buildSolution } from '../../buildchain/tasks/solution/build/build.ts';
import { verifySolutionIso } from '../../buildchain/tasks/solution/verify/verify.ts';
import { writeSolutionIso } from '../../buildchain/tasks/solution/build/write-solution-iso.ts';
import { missingTools } from '../helpers/require-tool.ts';
import { makeTempDir, type TempDir } from '../helpers/tmp.ts';

const EXAMPLE = path.resolve(import.meta.dirname, '..', '..', 'examples', 'solution-example');
const IMAGE = 'images/example-app/1.0.0-dev';
const missing = missingTools('buildah', 'skopeo', 'xorriso', 'isoinfo', 'busybox');

interface Case {
  readonly code: string;
  /** Alters the staged root before the ISO is written. */
  readonly root?: (root: string) => Promise<void>;
  readonly volumeId?: string;
  /** Alters the ISO (and its SHA256SUM) after writing. */
  readonly iso?: (iso: string) => Promise<void>;
}

async function blobs(root: string): Promise<{ config: string; layer: string }> {
  const m = JSON.parse(await readFile(path.join(root, IMAGE, 'manifest.json'), 'utf8')) as {
    config: { digest: string };
    layers: { digest: string }[];
  };
  return {
    config: path.join(root, IMAGE, m.config.digest.slice(7)),
    layer: path.join(root, IMAGE, (m.layers[0]?.digest ?? '').slice(7)),
  };
}

async function flipByte(file: string, offset: number): Promise<void> {
  const fh = await open(file, 'r+');
  try {
    const b = Buffer.alloc(1);
    await fh.read(b, 0, 1, offset);
    b[0] = (b[0] ?? 0) ^ 0xff;
    await fh.write(b, 0, 1, offset);
  } finally {
    await fh.close();
  }
}

const cases: Case[] = [
  { code: 'blob-digest-mismatch', root: async (r) => flipByte((await blobs(r)).layer, 1000) },
  {
    code: 'blob-size-mismatch',
    root: async (r) => writeFile((await blobs(r)).layer, 'x', { flag: 'a' }),
  },
  { code: 'blob-missing', root: async (r) => rm((await blobs(r)).config) },
  { code: 'manifest-missing', root: (r) => rm(path.join(r, IMAGE, 'manifest.json')) },
  {
    code: 'manifest-invalid',
    root: (r) => writeFile(path.join(r, IMAGE, 'manifest.json'), '{"schemaVersion": 1}'),
  },
  { code: 'volume-id-mismatch', volumeId: 'Example 9.9.9' },
  { code: 'product-missing', root: (r) => rm(path.join(r, 'product.txt')) },
  {
    code: 'registry-config-mismatch',
    root: (r) => writeFile(path.join(r, 'registry-config.inc.j2'), '# empty\n'),
  },
  { code: 'registry-config-missing', root: (r) => rm(path.join(r, 'registry-config.inc.j2')) },
  { code: 'operator-file-missing', root: (r) => rm(path.join(r, 'operator/deploy/role.yaml')) },
  { code: 'sha256sum-mismatch', iso: (iso) => flipByte(iso, 100) },
  { code: 'sha256sum-missing', iso: (iso) => rm(path.join(path.dirname(iso), 'SHA256SUM')) },
  { code: 'iso-unreadable', iso: (iso) => truncate(iso, 1000) },
];

describe.skipIf(missing.length > 0)('verify on damaged Solution ISOs', () => {
  let tmp: TempDir;
  let root: string;

  beforeAll(async () => {
    tmp = await makeTempDir('mk8s-solution-verify-');
    const work = path.join(tmp.path, 'work');
    await buildSolution({
      dir: EXAMPLE,
      output: path.join(tmp.path, 'good', 'example.iso'),
      workDir: work,
      sourceDateEpoch: 1700000000,
      allowHostFiles: true,
    });
    root = path.join(work, 'root');
  });

  afterAll(async () => {
    await tmp.cleanup();
  });

  it('passes the good ISO', async () => {
    expect((await verifySolutionIso(path.join(tmp.path, 'good', 'example.iso'))).problems).toEqual(
      [],
    );
  });

  it.each(cases.map((c, i) => [i, c.code, c] as const))('case %i: %s', async (i, code, c) => {
    const caseRoot = path.join(tmp.path, `root-${i}`);
    await cp(root, caseRoot, { recursive: true });
    await c.root?.(caseRoot);
    const iso = path.join(tmp.path, `iso-${i}`, 'example.iso');
    await writeSolutionIso({
      root: caseRoot,
      output: iso,
      volumeId: c.volumeId ?? 'Example 1.0.0-dev',
      epoch: 1700000000,
      xorriso: 'xorriso',
    });
    await c.iso?.(iso);
    const r = await verifySolutionIso(iso);
    const errors = r.problems.filter((p) => p.severity === 'error');
    expect(errors.map((p) => p.code)).toContain(code);
    const io = { out: () => undefined, err: () => undefined };
    expect(await runSolutionCli(['verify', iso], io)).toBe(1);
    await rm(caseRoot, { recursive: true, force: true });
    expect(await readdir(path.dirname(iso))).toContain('example.iso');
  });

  it("accepts the reference generator's registry config with a warning (registry-config-legacy)", async () => {
    const caseRoot = path.join(tmp.path, 'root-legacy');
    await cp(root, caseRoot, { recursive: true });
    const file = path.join(caseRoot, 'registry-config.inc.j2');
    const text = await readFile(file, 'utf8');
    // The reference output: the same blocks without the unknown-manifest regex locations, and
    // blob patterns neither anchored nor escaped.
    const legacy = text
      .replace(/\nlocation ~ "\^[^\n]*\/manifests\/\[\^\/\]\+\$" \{\n[\s\S]*?\n\}\n/g, '')
      .replace(
        /\nlocation ~ "\^[^\n]*\/blobs\/sha256:\(\[a-f0-9\]\{64\}\)\$" \{\n {4}alias \{\{ registry_root \}\}\/([^\n]+)\/;/g,
        '\nlocation ~ "/v2/{{ repository }}/$1/blobs/sha256:([a-f0-9]{64})" {\n    alias {{ registry_root }}/$1/;',
      );
    expect(legacy).not.toContain('location ~ "^');
    expect(legacy).not.toBe(text);
    await writeFile(file, legacy);
    const iso = path.join(tmp.path, 'iso-legacy', 'example.iso');
    await writeSolutionIso({
      root: caseRoot,
      output: iso,
      volumeId: 'Example 1.0.0-dev',
      epoch: 1700000000,
      xorriso: 'xorriso',
    });
    const r = await verifySolutionIso(iso);
    expect(r.problems.map((p) => `${p.severity} ${p.code}`)).toEqual([
      'warning registry-config-legacy',
    ]);
    const io = { out: () => undefined, err: () => undefined };
    expect(await runSolutionCli(['verify', iso], io)).toBe(0);
  });
});
