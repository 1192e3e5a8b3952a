/**
 * The import rules (.dependency-cruiser.cjs, run by `npm run lint` and `lint:ts`): the real
 * tree passes; on a small temp tree laid out like buildchain/, every allowed import passes and
 * every planted violation fails with its rule, and nothing else does.
 */
import { copyFile, mkdir, rm, symlink, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execDirect } from '../../buildchain/engine/exec/run-command.ts';
import { depcruiseArgv, lintTypeScript } from '../../buildchain/tasks/lint/run-ts.ts';
import { parseDepcruiseJson } from '../../buildchain/tasks/lint/ts-output.ts';
import { fakeTool } from '../helpers/fake-tool.ts';
import { makeTempDir, type TempDir } from '../helpers/tmp.ts';

const REPO = path.resolve(import.meta.dirname, '../..');
const DEPCRUISE = path.join(REPO, 'node_modules', '.bin', 'depcruise');
const RULES = (
  createRequire(import.meta.url)(path.join(REPO, '.dependency-cruiser.cjs')) as {
    forbidden: { name: string }[];
  }
).forbidden;

/** Files whose imports every rule allows (one per kind of allowed edge). */
const ALLOWED: Record<string, string> = {
  'buildchain/lib/errors.ts': 'export const e = 1;\n',
  'buildchain/lib/text.ts': "import { e } from './errors.ts';\nexport const t = e;\n",
  'buildchain/engine/task.ts': "import { e } from '../lib/errors.ts';\nexport const task = e;\n",
  'buildchain/engine/exec/run.ts':
    "import { spawn } from 'node:child_process';\nimport { execa } from 'execa';\nexport const run = [spawn, execa];\n",
  'buildchain/engine/exec/lazy-execa.ts': "export const load = () => import('execa');\n",
  'buildchain/lib/http/get.ts':
    "import http from 'node:http';\nimport https from 'node:https';\nexport const get = [http, https];\n",
  'buildchain/config/config.ts':
    "import { task } from '../engine/task.ts';\nimport { t } from '../lib/text.ts';\nexport const config = [task, t];\n",
  'buildchain/media/iso.ts':
    "import { config } from '../config/config.ts';\nimport { run } from '../engine/exec/run.ts';\nexport const iso = [config, run];\n",
  'buildchain/sources/sources.ts':
    "import { config } from '../config/config.ts';\nexport const sources = config;\n",
  'buildchain/tasks/b/internal.ts': 'export const internal = 1;\n',
  'buildchain/tasks/b/index.ts': "export { internal } from './internal.ts';\n",
  'buildchain/tasks/b/tasks.ts':
    "import { internal } from './internal.ts';\nexport const tasksB = internal;\n",
  'buildchain/tasks/a/tasks.ts':
    "import { internal } from '../b/index.ts';\nimport { iso } from '../../media/iso.ts';\n" +
    "import { sources } from '../../sources/sources.ts';\nexport const tasksA = [internal, iso, sources];\n",
  'buildchain/tasks/index.ts':
    "import { tasksA } from './a/tasks.ts';\nimport { tasksB } from './b/tasks.ts';\nexport const all = [tasksA, tasksB];\n",
  'buildchain/cli/main.ts':
    "import { all } from '../tasks/index.ts';\nimport { internal } from '../tasks/b/internal.ts';\nexport const main = [all, internal];\n",
};

/** One planted violation per rule: the file, its content, and the [rule, from, to] expected. */
const PLANTED: readonly {
  file: string;
  text: string;
  expect: readonly (readonly [string, string, string])[];
}[] = [
  {
    file: 'buildchain/lib/cyc-a.ts',
    text: "import { b } from './cyc-b.ts';\nexport const a = () => b;\n",
    expect: [['no-circular', 'buildchain/lib/cyc-a.ts', 'buildchain/lib/cyc-b.ts']],
  },
  {
    file: 'buildchain/lib/cyc-b.ts',
    text: "import type { a } from './cyc-a.ts';\nexport const b: typeof a | undefined = undefined;\n",
    // One cycle, reported once (on the first of its modules: see normalise).
    expect: [],
  },
  {
    file: 'buildchain/lib/up.ts',
    text: "import { task } from '../engine/task.ts';\nexport const up = task;\n",
    expect: [['lib-imports-nothing', 'buildchain/lib/up.ts', 'buildchain/engine/task.ts']],
  },
  {
    file: 'buildchain/engine/up.ts',
    text: "import type { config } from '../config/config.ts';\nexport type Up = typeof config;\n",
    expect: [['engine-imports-only-lib', 'buildchain/engine/up.ts', 'buildchain/config/config.ts']],
  },
  {
    file: 'buildchain/config/up.ts',
    text: "import { iso } from '../media/iso.ts';\nexport const up = iso;\n",
    expect: [
      ['config-imports-only-engine-lib', 'buildchain/config/up.ts', 'buildchain/media/iso.ts'],
    ],
  },
  {
    file: 'buildchain/media/up.ts',
    text: "import { tasksA } from '../tasks/a/tasks.ts';\nimport { sources } from '../sources/sources.ts';\nexport const up = [tasksA, sources];\n",
    expect: [
      [
        'media-sources-import-only-lower-layers',
        'buildchain/media/up.ts',
        'buildchain/tasks/a/tasks.ts',
      ],
      [
        'media-sources-import-only-lower-layers',
        'buildchain/media/up.ts',
        'buildchain/sources/sources.ts',
      ],
    ],
  },
  {
    file: 'buildchain/tasks/a/up.ts',
    text: "import { main } from '../../cli/main.ts';\nexport const up = main;\n",
    expect: [['tasks-not-cli', 'buildchain/tasks/a/up.ts', 'buildchain/cli/main.ts']],
  },
  {
    file: 'buildchain/tasks/a/reach-in.ts',
    text: "import { internal } from '../b/internal.ts';\nexport const reach = internal;\n",
    expect: [
      ['domain-via-index-only', 'buildchain/tasks/a/reach-in.ts', 'buildchain/tasks/b/internal.ts'],
    ],
  },
  {
    file: 'buildchain/sources/spawn.ts',
    text: "import { execFile } from 'node:child_process';\nexport const s = execFile;\n",
    expect: [['spawn-only-in-runner', 'buildchain/sources/spawn.ts', 'child_process']],
  },
  {
    file: 'buildchain/tasks/b/spawn.ts',
    text: "import { execa } from 'execa';\nimport { load } from '../../engine/exec/lazy-execa.ts';\nexport const s = [execa, load];\n",
    expect: [
      ['spawn-only-in-runner', 'buildchain/tasks/b/spawn.ts', 'execa'],
      [
        'spawn-only-in-runner',
        'buildchain/tasks/b/spawn.ts',
        'buildchain/engine/exec/lazy-execa.ts',
      ],
    ],
  },
  {
    file: 'buildchain/tasks/b/http.ts',
    text: "import http from 'node:http';\nimport { request } from 'node:https';\nexport const h = [http, request];\n",
    expect: [
      ['http-only-in-lib-http', 'buildchain/tasks/b/http.ts', 'http'],
      ['http-only-in-lib-http', 'buildchain/tasks/b/http.ts', 'https'],
    ],
  },
];

/** tasks/index.ts reaching into a domain: planted by rewriting the allowed file. */
const INDEX_REACH_IN =
  "import { tasksA } from './a/tasks.ts';\nimport { internal } from './b/internal.ts';\nexport const all = [tasksA, internal];\n";

interface Violation {
  readonly rule: string;
  readonly from: string;
  readonly to: string;
}

/** Runs the rules as `npm run lint` does, in `dir`; returns every violation. */
async function cruise(dir: string): Promise<Violation[]> {
  const r = await execDirect(depcruiseArgv(DEPCRUISE), { cwd: dir, reject: false });
  const raw = JSON.parse(r.stdout) as {
    summary: { violations: { rule: { name: string }; from: string; to: string }[] };
  };
  // Findings are what lint:ts reports: one per violation, on the importing file.
  expect(parseDepcruiseJson(r.stdout).map((f) => [f.rule, f.file])).toEqual(
    raw.summary.violations.map((v) => [v.rule.name, v.from]),
  );
  return raw.summary.violations.map((v) => ({ rule: v.rule.name, from: v.from, to: v.to }));
}

/**
 * A violation as `rule from to`: execa resolved through the node_modules symlink shortened,
 * a cycle named by its first module in path order (depcruise reports it once, on any of them).
 */
function normalise(v: Violation): string {
  const to = /(^|\/)node_modules\/execa\//.test(v.to) ? 'execa' : v.to;
  const [from, other] = v.rule === 'no-circular' ? [v.from, to].sort() : [v.from, to];
  return `${v.rule} ${from ?? ''} ${other ?? ''}`;
}

describe('import rules (dependency-cruiser)', () => {
  let tmp: TempDir;
  const put = async (rel: string, text: string): Promise<void> => {
    await mkdir(path.dirname(path.join(tmp.path, rel)), { recursive: true });
    await writeFile(path.join(tmp.path, rel), text);
  };

  beforeAll(async () => {
    tmp = await makeTempDir('mk8s-lint-imports-');
    await copyFile(
      path.join(REPO, '.dependency-cruiser.cjs'),
      path.join(tmp.path, '.dependency-cruiser.cjs'),
    );
    await copyFile(path.join(REPO, 'tsconfig.json'), path.join(tmp.path, 'tsconfig.json'));
    await symlink(path.join(REPO, 'node_modules'), path.join(tmp.path, 'node_modules'));
    for (const [rel, text] of Object.entries(ALLOWED)) await put(rel, text);
  });
  afterAll(async () => {
    await tmp.cleanup();
  });

  it('the buildchain itself follows every rule', async () => {
    const t0 = Date.now();
    expect(await cruise(REPO)).toEqual([]);
    expect(Date.now() - t0).toBeLessThan(15_000);
  });

  it('allowed imports pass: layers downwards, a domain through index.ts, the wiring through tasks.ts, spawning in engine/exec, cli anything', async () => {
    expect(await cruise(tmp.path)).toEqual([]);
  });

  it('each planted violation fails with its rule, and nothing else fails', async () => {
    for (const p of PLANTED) await put(p.file, p.text);
    await put('buildchain/tasks/index.ts', INDEX_REACH_IN);
    try {
      const violations = await cruise(tmp.path);
      const expected = [
        ...PLANTED.flatMap((p) => p.expect),
        [
          'tasks-index-wires-factories',
          'buildchain/tasks/index.ts',
          'buildchain/tasks/b/internal.ts',
        ],
      ];
      expect(violations.map(normalise).sort()).toEqual(expected.map((v) => v.join(' ')).sort());
      // Every rule of the configuration is proven to fire (a new rule needs its planted case).
      const rules = new Set(violations.map((v) => v.rule));
      expect([...rules].sort()).toEqual(RULES.map((r) => r.name).sort());
      // The build's lint:ts runs the same rules: one error finding per violation (tsc and
      // eslint stubbed: they are not what this test is about).
      const bin = path.join(tmp.path, 'stub-bin');
      await mkdir(bin, { recursive: true });
      const ts = await lintTypeScript({
        root: tmp.path,
        exec: execDirect,
        checkedFiles: 1,
        tscBin: fakeTool(bin, 'tsc'),
        eslintBin: fakeTool(bin, 'eslint', { body: 'echo "[]"' }),
        depcruiseBin: DEPCRUISE,
      });
      expect(ts.findings.filter((f) => f.severity === 'error')).toHaveLength(violations.length);
      expect(ts.findings).toContainEqual({
        file: 'buildchain/tasks/a/reach-in.ts',
        severity: 'error',
        rule: 'domain-via-index-only',
        message:
          'forbidden import: buildchain/tasks/a/reach-in.ts → buildchain/tasks/b/internal.ts',
      });
    } finally {
      for (const p of PLANTED) await rm(path.join(tmp.path, p.file), { force: true });
      await put('buildchain/tasks/index.ts', ALLOWED['buildchain/tasks/index.ts'] ?? '');
    }
  });
});
