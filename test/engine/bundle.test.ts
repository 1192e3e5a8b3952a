/**
 * The bundle the launcher runs (dist/bundle/, bin/compile-dist.mjs with esbuild): fresh after
 * every edit, its line table mapping code back to the TypeScript sources (code fingerprints),
 * its assets and its worker found, a JavaScript --tasks-module still served by the per-module
 * tree, a missing esbuild falling back to that tree. Edits happen in a copy of the buildchain
 * (its own dist/); the fingerprint checks run this repository's ./doit.sh on a temporary
 * BUILD_ROOT.
 */
import { execFileSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IsoMd5Accumulator } from '../../buildchain/media/iso/iso-md5.ts';
import { parseNdjson, type JsonEvent } from '../helpers/ndjson.ts';
import { missingTools } from '../helpers/require-tool.ts';
import { hasStack, runFile, shellEnv, type FileRun } from '../helpers/run-cli.ts';
import { makeTempDir, type TempDir } from '../helpers/tmp.ts';
import { copyBuildchain, REPO_ROOT } from '../helpers/workspace.ts';

type Run = FileRun;
const run = runFile;
const summary = (r: Run): JsonEvent | undefined =>
  parseNdjson(r.stdout).find((e) => e.event === 'summary');

/** The bundle's `.cjs` files and their text. */
function bundleFiles(root: string): Map<string, string> {
  const dir = path.join(root, 'dist/bundle');
  const out = new Map<string, string>();
  for (const name of readdirSync(dir))
    if (name.endsWith('.cjs')) out.set(name, readFileSync(path.join(dir, name), 'utf8'));
  return out;
}

describe('the bundle: what the launcher runs', () => {
  let tmp: TempDir;
  let copy: string;
  const help = (): string => path.join(copy, 'buildchain/cli/help.ts');
  const doit = (...args: string[]): Promise<Run> =>
    run(path.join(copy, 'doit.sh'), args, copy, shellEnv());
  /** Runs `code`, an ES module seeing bin/launch.js's exports as `launch`, in a process of its own. */
  const withLauncher = (code: string, nodeOptions: readonly string[] = []): Promise<Run> => {
    const launch = JSON.stringify(pathToFileURL(path.join(copy, 'bin/launch.js')).href);
    return run(
      process.execPath,
      [
        ...nodeOptions,
        '--input-type=module',
        '-e',
        `const launch = await import(${launch});\n${code}`,
      ],
      copy,
    );
  };

  beforeAll(async () => {
    tmp = await makeTempDir('mk8s-bundle-');
    copy = path.join(tmp.path, 'repo');
    copyBuildchain(copy);
    const first = await doit('help');
    expect(first.code, first.stderr).toBe(0);
  });
  afterAll(() => tmp.cleanup());

  it('is built with the per-module tree: one CommonJS file per CLI and the worker, a line table', () => {
    for (const entry of ['main.cjs', 'solution.cjs', 'static-registry.cjs', 'iso-md5-worker.cjs'])
      expect(existsSync(path.join(copy, 'dist/bundle', entry)), entry).toBe(true);
    const table = JSON.parse(
      readFileSync(path.join(copy, 'dist/bundle/sources.json'), 'utf8'),
    ) as Record<string, unknown>;
    // Every file of the bundle has its table, and nothing else is left there (old files go).
    expect(Object.keys(table).sort()).toEqual([...bundleFiles(copy).keys()].sort());
    const manifest = JSON.parse(readFileSync(path.join(copy, 'dist/.manifest.json'), 'utf8')) as {
      bundled: unknown;
    };
    expect(manifest.bundled).toBe(true);
  });

  it('a vendored package (handlebars) runs from its vendor file, not from node_modules', async () => {
    const bundle = bundleFiles(copy);
    expect(bundle.has('vendor-handlebars.cjs')).toBe(true);
    // The bundle names the vendor file; no entry loads the package from node_modules.
    expect(bundle.get('static-registry.cjs')).toContain('./vendor-handlebars.cjs');
    for (const [name, text] of bundle)
      expect(text.includes('require("handlebars")'), name).toBe(false);
    const r = await run(
      process.execPath,
      [path.join(copy, 'bin/static-container-registry.js'), '--only-constants'],
      copy,
      shellEnv(),
    );
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('location @registry_manifest_unknown');
  });

  it("the line table maps each module's code to its TypeScript source (esbuild's own comments agree)", () => {
    const table = JSON.parse(
      readFileSync(path.join(copy, 'dist/bundle/sources.json'), 'utf8'),
    ) as Record<string, [number, string][]>;
    const sourceAt = (file: string, line: number): string | undefined =>
      (table[file] ?? []).filter((r) => r[0] <= line).at(-1)?.[1];
    let checked = 0;
    for (const [file, text] of bundleFiles(copy)) {
      const lines = text.split('\n');
      lines.forEach((l, i) => {
        const m = /^\/\/ (buildchain\/\S+\.ts)$/.exec(l);
        // The first code line after esbuild's `// buildchain/x.ts` header belongs to x.ts.
        const next = lines.findIndex((c, j) => j > i && c.trim() !== '' && !c.startsWith('//'));
        if (m === null || next < 0) return;
        expect(sourceAt(file, next + 1), `${file}:${next + 1}`).toBe(m[1]);
        checked++;
      });
    }
    expect(checked).toBeGreaterThan(150);
  });

  it('runs the bundle, not the per-module tree', async () => {
    const perModule = path.join(copy, 'dist/buildchain/cli/help.js');
    const saved = readFileSync(perModule, 'utf8');
    writeFileSync(perModule, "throw new Error('the per-module tree was loaded');\n");
    try {
      const r = await doit('help');
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toContain('usage:');
    } finally {
      writeFileSync(perModule, saved);
    }
  });

  it('an entry file deleted by hand is bundled again on the next start', async () => {
    rmSync(path.join(copy, 'dist/bundle/main.cjs'));
    const r = await doit('help');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('usage:');
    expect(existsSync(path.join(copy, 'dist/bundle/main.cjs'))).toBe(true);
  });

  it("runs with V8's code cache: made by a short run, used next, never a stale or corrupt one", async () => {
    const bundle = path.join(copy, 'dist/bundle/main.cjs');
    const cache = `${bundle}.v8cache`;
    // runBundle in a process of its own: what it did with the cache, and the CLI it exports.
    const start = async (): Promise<string> => {
      const r = await withLauncher(
        `const r = launch.runBundle(${JSON.stringify(bundle)});\n` +
          'console.log(r.cache, typeof r.exports.main);',
      );
      expect(r.code, r.stderr).toBe(0);
      return r.stdout.trim();
    };
    rmSync(cache, { force: true });
    expect(await start()).toBe('none function');
    // Headed by the bundle's stat signature (V8 itself only checks the source's length).
    const made = readFileSync(cache);
    const st = statSync(bundle);
    expect(made.subarray(0, made.indexOf(10)).toString()).toBe(
      `${st.mtimeMs}/${st.ctimeMs}/${st.size}/${st.ino}`,
    );
    expect(await start()).toBe('used function');
    // Corrupt: V8 refuses it, the bundle compiles, a good cache replaces it.
    writeFileSync(
      cache,
      Buffer.concat([made.subarray(0, made.indexOf(10) + 1), Buffer.alloc(4096, 7)]),
    );
    expect(await start()).toBe('rejected function');
    expect(await start()).toBe('used function');
    // Another bundle's cache (a signature that is not this file's) is never handed to V8.
    writeFileSync(
      cache,
      Buffer.concat([Buffer.from('1/2/3/4\n'), made.subarray(made.indexOf(10) + 1)]),
    );
    expect(await start()).toBe('none function');
    expect(readFileSync(cache).subarray(0, made.indexOf(10))).toEqual(
      made.subarray(0, made.indexOf(10)),
    );
    // `node --enable-source-maps`: required as a module instead, so that frames map to .ts.
    const mapped = await withLauncher(
      `const r = launch.runBundle(${JSON.stringify(bundle)});\n` +
        "const { findSourceMap } = await import('node:module');\n" +
        `console.log(r.cache, findSourceMap(${JSON.stringify(bundle)}) !== undefined);`,
      ['--enable-source-maps'],
    );
    expect(mapped.stdout.trim(), mapped.stderr).toBe('none true');
    // The CLI through the launcher with the cache in place.
    const r = await doit('help');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('usage:');
  });

  it('fn() called through another engine function still finds the module outside the engine', async () => {
    const wrapper = path.join(copy, 'buildchain/engine/zz-wrapper.ts');
    writeFileSync(
      wrapper,
      "import { fn } from './task.ts';\n" +
        'export function wrapped(label: string) {\n  return fn(label, () => Promise.resolve());\n}\n',
    );
    const mod = path.join(tmp.path, 'wrapped-tasks.mjs');
    const compiled = JSON.stringify(path.join(copy, 'dist/buildchain/engine/zz-wrapper.js'));
    writeFileSync(
      mod,
      `import { wrapped } from ${compiled};\n` +
        "export function createTasks() { return [{ name: 'iso', actions: [wrapped('w')] }]; }\n",
    );
    try {
      const r = await doit('--tasks-module', mod, '--reporter', 'json', 'iso');
      expect(r.code, r.stdout + r.stderr).toBe(0);
      expect(summary(r)?.counts).toMatchObject({ done: 1, failed: 0 });
      // Two engine frames (fn, wrapped) above the caller: the whole stack was searched.
      const state = JSON.parse(
        readFileSync(path.join(copy, '_build/.buildchain/state.json'), 'utf8'),
      ) as { modules: Record<string, unknown> };
      expect(Object.keys(state.modules)).toContain(mod);
    } finally {
      rmSync(wrapper);
    }
  });

  it("load() of a module that is not an entry point gives the per-module tree's (bench engine)", async () => {
    const compiled = JSON.stringify(
      pathToFileURL(path.join(copy, 'dist/buildchain/engine/task.js')).href,
    );
    const r = await withLauncher(
      `const m = await launch.load('buildchain/engine/task.ts');\n` +
        `console.log(m === (await import(${compiled})), typeof m.fn);`,
    );
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe('true function');
  });

  it('an edited source is bundled again before it runs; a deleted module leaves no code', async () => {
    const good = readFileSync(help(), 'utf8');
    const extra = path.join(copy, 'buildchain/cli/extra-lazy.ts');
    writeFileSync(extra, "export const marker = 'LAZY-CHUNK-MARKER';\n");
    writeFileSync(
      help(),
      // A module imported lazily (in the bundle too) is evaluated on its first import.
      `${good}\nprocess.stdout.write('BUNDLED-1\\n');\n` +
        "void import('./extra-lazy.ts').then((m) => process.stdout.write(`${m.marker}\\n`));\n",
    );
    try {
      const r = await doit('help');
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/BUNDLED-1\n(.|\n)*LAZY-CHUNK-MARKER\n/);
      const withExtra = [...bundleFiles(copy).values()];
      expect(withExtra.some((t) => t.includes('BUNDLED-1'))).toBe(true);
      expect(withExtra.some((t) => t.includes('LAZY-CHUNK-MARKER'))).toBe(true);
    } finally {
      writeFileSync(help(), good);
      rmSync(extra);
    }
    const r = await doit('help');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).not.toContain('BUNDLED-1');
    const after = [...bundleFiles(copy).values()];
    expect(after.some((t) => t.includes('BUNDLED-1') || t.includes('LAZY-CHUNK-MARKER'))).toBe(
      false,
    );
  });

  it("a rebuild removes the temporary files of a killed compile, not a running one's", async () => {
    const dir = path.join(copy, 'dist/bundle');
    // A pid that ran and is gone, and one that runs (this test's).
    const dead = (
      await run(process.execPath, ['-e', 'console.log(process.pid)'], copy)
    ).stdout.trim();
    const deadTmp = path.join(dir, `main.cjs.tmp-${dead}`);
    const liveTmp = path.join(dir, `main.cjs.tmp-${process.pid}`);
    writeFileSync(deadTmp, 'half-written');
    writeFileSync(liveTmp, 'being written');
    const good = readFileSync(help(), 'utf8');
    writeFileSync(help(), `${good}\n// rebuild ${Date.now()}\n`);
    try {
      const r = await doit('help');
      expect(r.code, r.stderr).toBe(0);
      expect(existsSync(deadTmp)).toBe(false);
      expect(existsSync(liveTmp)).toBe(true);
    } finally {
      writeFileSync(help(), good);
      rmSync(liveTmp, { force: true });
    }
  });

  it('an import esbuild cannot resolve: its file and line, exit 3, no stack; fixed, it runs', async () => {
    const good = readFileSync(help(), 'utf8');
    writeFileSync(help(), `import './no-such-module.ts';\n${good}`);
    try {
      const r = await doit('help');
      expect(r.code).toBe(3);
      expect(r.stderr).toMatch(
        /^error: cannot compile buildchain\/cli\/help\.ts:1: Could not resolve "\.\/no-such-module\.ts"/,
      );
      expect(r.stderr).toContain('hint: fix the source');
      expect(hasStack(r.stderr)).toBe(false);
      // The bundle is not taken as current: still refused on the next start.
      expect((await doit('help')).code).toBe(3);
    } finally {
      writeFileSync(help(), good);
    }
    const fixed = await doit('help');
    expect(fixed.code, fixed.stderr).toBe(0);
    expect(fixed.stderr).toBe('');
  });

  it.skipIf(missingTools('xorriso').length > 0)(
    "the bundle's ISO md5 worker starts from the bundle and hashes as the sources do",
    async () => {
      const tree = path.join(tmp.path, 'iso-tree');
      mkdirSync(tree);
      writeFileSync(path.join(tree, 'README'), 'a small ISO\n'.repeat(1000));
      const iso = path.join(tmp.path, 'small.iso');
      execFileSync('xorriso', ['-as', 'mkisofs', '-quiet', '-V', 'SMALL', '-o', iso, tree], {
        stdio: 'ignore',
      });
      const data = readFileSync(iso);
      const worker = new Worker(path.join(copy, 'dist/bundle/iso-md5-worker.cjs'), {
        workerData: { file: iso },
      });
      try {
        const got = await new Promise<Record<string, unknown>>((resolve, reject) => {
          worker.on('message', (m: { result?: Record<string, unknown>; error?: string }) => {
            if (m.result !== undefined) resolve(m.result);
            else reject(new Error(m.error));
          });
          worker.once('error', reject);
          worker.postMessage({ upTo: data.length });
          worker.postMessage({ end: true });
        });
        const acc = new IsoMd5Accumulator();
        acc.update(data);
        const want = acc.finish();
        expect(got).toEqual({ ...want, appData: want.appData.toString('latin1') });
      } finally {
        await worker.terminate();
      }
    },
  );

  it('without esbuild: says so once and runs the per-module tree', async () => {
    const modules = path.join(tmp.path, 'node_modules-no-esbuild');
    mkdirSync(modules);
    for (const name of readdirSync(path.join(REPO_ROOT, 'node_modules')))
      if (name !== 'esbuild')
        symlinkSync(path.join(REPO_ROOT, 'node_modules', name), path.join(modules, name));
    const link = path.join(copy, 'node_modules');
    rmSync(link);
    symlinkSync(modules, link);
    const good = readFileSync(help(), 'utf8');
    try {
      writeFileSync(help(), `${good}\nprocess.stdout.write('PER-MODULE-1\\n');\n`);
      const r = await doit('help');
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toContain('PER-MODULE-1');
      expect(r.stderr).toMatch(
        /^note: cannot bundle the buildchain \(esbuild is not installed \(npm ci\)\); running dist\/buildchain\/ module by module/,
      );
    } finally {
      writeFileSync(help(), good);
      rmSync(link);
      symlinkSync(path.join(REPO_ROOT, 'node_modules'), link);
    }
    // esbuild back: the next start bundles again, quietly.
    const r = await doit('help');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout).not.toContain('PER-MODULE-1');
  });
});

describe('./doit.sh in this repository: the bundle and the sources share their fingerprints', () => {
  let tmp: TempDir;
  let env: NodeJS.ProcessEnv;
  const bySources = (...args: string[]): Promise<Run> =>
    run(
      process.execPath,
      ['--import', 'tsx', path.join(REPO_ROOT, 'buildchain/cli/bin.ts'), ...args],
      REPO_ROOT,
      env,
    );
  const bundled = (...args: string[]): Promise<Run> =>
    run(path.join(REPO_ROOT, 'doit.sh'), args, tmp.path, env);

  beforeAll(async () => {
    tmp = await makeTempDir('mk8s-bundle-fp-');
    env = shellEnv({ BUILD_ROOT: path.join(tmp.path, 'build') });
  });
  afterAll(() => tmp.cleanup());

  it('built by the bundle (the embedded mirror signs with its key), up to date for the sources', async () => {
    const first = await bundled('--reporter', 'json', 'salt_tree', 'packaging');
    expect(first.code, first.stderr).toBe(0);
    expect(summary(first)?.counts).toMatchObject({ failed: 0 });
    // Function actions are attributed to TypeScript sources, never to a bundle chunk.
    const state = JSON.parse(
      readFileSync(path.join(tmp.path, 'build/.buildchain/state.json'), 'utf8'),
    ) as { modules: Record<string, unknown> };
    const modules = Object.keys(state.modules);
    expect(modules).toContain(path.join(REPO_ROOT, 'buildchain/tasks/packages/tasks.ts'));
    for (const m of modules) {
      expect(m.startsWith(path.join(REPO_ROOT, 'buildchain') + path.sep), m).toBe(true);
      expect(m.endsWith('.ts'), m).toBe(true);
    }
    const again = await bySources('--reporter', 'json', 'salt_tree', 'packaging');
    expect(again.code, again.stderr).toBe(0);
    expect(summary(again)?.counts).toMatchObject({ done: 0, failed: 0 });
  });

  it("a no-op loads neither ICU's collation nor node:http/https/tls (~10 and ~5 ms)", async () => {
    const preload = path.join(tmp.path, 'no-collation.mjs');
    writeFileSync(
      preload,
      "String.prototype.localeCompare = () => { throw new Error('localeCompare on a no-op'); };\n" +
        "Intl.Collator = function () { throw new Error('Intl.Collator on a no-op'); };\n" +
        "process.on('exit', () => {\n" +
        '  const http = process.moduleLoadList.filter((m) => /^NativeModule (http|https|tls)$/.test(m));\n' +
        "  if (http.length > 0) { process.stderr.write(`loaded ${http.join(', ')}\\n`); process.exitCode = 99; }\n" +
        '});\n',
    );
    const r = await run(
      process.execPath,
      [
        '--import',
        preload,
        path.join(REPO_ROOT, 'bin/buildchain.js'),
        '--reporter',
        'json',
        'salt_tree',
        'packaging',
      ],
      tmp.path,
      env,
    );
    expect(r.code, r.stderr).toBe(0);
    expect(summary(r)?.counts).toMatchObject({ done: 0, failed: 0 });
  });

  it('a JavaScript --tasks-module importing the per-module tree runs with that tree', async () => {
    const mod = path.join(tmp.path, 'tasks.mjs');
    const task = JSON.stringify(path.join(REPO_ROOT, 'dist/buildchain/engine/task.js'));
    writeFileSync(
      mod,
      `import { fn } from ${task};\n` +
        `export function createTasks() {\n` +
        `  return [{ name: 'iso', actions: [fn('say', async (ctx) => { ctx.log('ran'); })] }];\n}\n`,
    );
    const r = await bundled('--tasks-module', mod, '--reporter', 'json', 'iso');
    expect(r.code, r.stderr).toBe(0);
    expect(summary(r)?.counts).toMatchObject({ done: 1, failed: 0 });
  });
});
