/**
 * `solution build` on the engine: a rerun is a no-op by the engine's fingerprints, an edit
 * reruns only the stages reading the edited file, and the exit codes are the engine's
 * (1 a stage failed, 2 lock held, 130 interrupted, with no ISO left behind).
 */
import { cp, mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runSolutionCli } from '../../buildchain/cli/solution.ts';
import type { BuildEvent, Reporter } from '../../buildchain/engine/events.ts';
import { TaskError } from '../../buildchain/engine/task.ts';
import {
  buildSolution,
  type BuildSolutionResult,
} from '../../buildchain/tasks/solution/build/build.ts';
import { solutionStateDir } from '../../buildchain/tasks/solution/build/run-stages.ts';
import { missingTools } from '../helpers/require-tool.ts';
import { makeTempDir, type TempDir } from '../helpers/tmp.ts';

const ROOT = path.resolve(import.meta.dirname, '..', '..');
const EXAMPLE = path.join(ROOT, 'examples', 'solution-example');
const EPOCH = 1700000000;
const missing = missingTools('buildah', 'skopeo', 'xorriso', 'busybox');

const IMAGE = 'solution:image:example-app:1.0.0-dev';
const STAGES = [
  IMAGE,
  'solution:registry-config',
  'solution:root',
  'solution:iso',
  'solution:checksum',
];

function collector(): {
  reporter: Reporter;
  events: BuildEvent[];
  started: () => string[];
  skipped: () => string[];
} {
  const events: BuildEvent[] = [];
  return {
    reporter: { emit: (e) => events.push(e), close: () => Promise.resolve() },
    events,
    started: () => events.flatMap((e) => (e.event === 'start' ? [e.task] : [])),
    skipped: () =>
      events.flatMap((e) => (e.event === 'skip' && e.reason === 'up-to-date' ? [e.task] : [])),
  };
}

function io(): {
  out: string[];
  err: string[];
  io: { out(t: string): void; err(t: string): void };
} {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, io: { out: (t) => out.push(t), err: (t) => err.push(t) } };
}

describe.skipIf(missing.length > 0)('solution build on the engine', () => {
  let tmp: TempDir;
  let dir: string;
  let iso: string;
  let work: string;
  let first: BuildSolutionResult;
  const savedEpoch = process.env.SOURCE_DATE_EPOCH;

  const build = (
    reporter?: Reporter,
    extra: { signal?: AbortSignal; xorriso?: string } = {},
  ): Promise<BuildSolutionResult> =>
    buildSolution({
      dir,
      output: iso,
      workDir: work,
      sourceDateEpoch: EPOCH,
      allowHostFiles: true,
      ...(reporter !== undefined ? { reporter } : {}),
      ...(extra.signal !== undefined ? { signal: extra.signal } : {}),
      ...(extra.xorriso !== undefined ? { tools: { xorriso: extra.xorriso } } : {}),
    });

  beforeAll(async () => {
    // The command line takes the build timestamp from the settings: the same as buildSolution's.
    process.env.SOURCE_DATE_EPOCH = String(EPOCH);
    tmp = await makeTempDir('mk8s-solution-engine-');
    dir = path.join(tmp.path, 'sol');
    await cp(EXAMPLE, dir, { recursive: true, filter: (src) => path.basename(src) !== '_build' });
    iso = path.join(tmp.path, 'out', 'example.iso');
    work = path.join(tmp.path, 'work');
    await mkdir(path.dirname(iso));
    const c = collector();
    first = await build(c.reporter);
    expect(c.started()).toEqual(STAGES);
  });

  afterAll(async () => {
    if (savedEpoch === undefined) delete process.env.SOURCE_DATE_EPOCH;
    else process.env.SOURCE_DATE_EPOCH = savedEpoch;
    await tmp.cleanup();
  });

  it('keeps its state under the work directory, with no stamp of its own', async () => {
    expect(await readdir(solutionStateDir(work))).toContain('state.json');
    const names = await readdir(work);
    expect(names).not.toContain('build-key.json');
    expect(names).not.toContain('image-keys');
  });

  it('a second build is a no-op by the fingerprints: every stage skipped up to date, the ISO untouched', async () => {
    const before = await stat(iso);
    const c = collector();
    const again = await build(c.reporter);
    expect(again.upToDate).toBe(true);
    expect(c.started()).toEqual([]);
    expect(c.skipped()).toEqual(STAGES);
    expect(again.sha256).toBe(first.sha256);
    expect((await stat(iso)).mtimeMs).toBe(before.mtimeMs);
    const cli = io();
    const code = await runSolutionCli(
      ['build', dir, '-o', iso, '--work-dir', work, '--allow-host-files'],
      cli.io,
    );
    expect(code).toBe(0);
    expect(cli.out.join('\n')).toBe(`${iso}\n${first.sha256}  example.iso  (up to date)`);
    expect(cli.err.join('\n')).toContain(`${iso} is up to date`);
    expect((await stat(iso)).mtimeMs).toBe(before.mtimeMs);
  });

  it("--json-log writes the engine's events (a rerun: every stage skipped up to date, summary exit 0); an unwritable log is exit 2", async () => {
    const log = path.join(tmp.path, 'events.ndjson');
    const cli = io();
    const argv = ['build', dir, '-o', iso, '--work-dir', work, '--allow-host-files'];
    expect(await runSolutionCli([...argv, '--json-log', log], cli.io)).toBe(0);
    const events = (await readFile(log, 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as BuildEvent);
    expect(
      events.flatMap((e) => (e.event === 'skip' && e.reason === 'up-to-date' ? [e.task] : [])),
    ).toEqual(STAGES);
    expect(events.some((e) => e.event === 'start')).toBe(false);
    expect(events.at(-1)).toMatchObject({
      event: 'summary',
      exitCode: 0,
      counts: { done: 0, upToDate: STAGES.length },
    });
    const bad = io();
    expect(
      await runSolutionCli(
        [...argv, '--json-log', path.join(tmp.path, 'missing-dir', 'e.ndjson')],
        bad.io,
      ),
    ).toBe(2);
    expect(bad.err.join('\n')).toContain('missing-dir');
  });

  it('an edit of a shipped file reruns the ISO tree, the ISO and its checksum only', async () => {
    const file = path.join(dir, 'ui', 'deployment.yaml');
    const original = await readFile(file, 'utf8');
    await writeFile(file, `${original}# edited\n`);
    const c = collector();
    const edited = await build(c.reporter);
    expect(c.started()).toEqual(['solution:root', 'solution:iso', 'solution:checksum']);
    expect(c.skipped()).toEqual([IMAGE, 'solution:registry-config']);
    expect(edited.sha256).not.toBe(first.sha256);
    await writeFile(file, original);
    const back = await build();
    expect(back.sha256).toBe(first.sha256);
  });

  it('an edit of the build context rebuilds the image (and what follows it)', async () => {
    const file = path.join(dir, 'images', 'example-app', 'extra.txt');
    await writeFile(file, 'extra\n');
    try {
      const c = collector();
      await build(c.reporter);
      expect(c.started()[0]).toBe(IMAGE);
    } finally {
      await rm(file);
    }
    const c = collector();
    expect((await build(c.reporter)).sha256).toBe(first.sha256);
    expect(c.started()).toContain(IMAGE);
  });

  it("a failed stage: the failed task's error, exit 1 on the command line, no ISO left; what ran before stays done", async () => {
    const ui = path.join(dir, 'ui', 'deployment.yaml');
    await writeFile(
      ui,
      `${await readFile(path.join(EXAMPLE, 'ui', 'deployment.yaml'), 'utf8')}# x\n`,
    );
    const err = await build(undefined, { xorriso: path.join(tmp.path, 'no-such-xorriso') }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(TaskError);
    expect((err as TaskError).reason).toBe('tool-not-found');
    const isoFiles = async (): Promise<string[]> =>
      (await readdir(path.dirname(iso))).filter((f) => f.endsWith('.iso') || f === 'SHA256SUM');
    expect(await isoFiles()).toEqual([]);
    await cp(path.join(EXAMPLE, 'ui', 'deployment.yaml'), ui);
    const c = collector();
    expect((await build(c.reporter)).sha256).toBe(first.sha256);
    // The ISO tree of the restored file was never rebuilt: only the ISO and its checksum run.
    expect(c.started()).toEqual(['solution:iso', 'solution:checksum']);
    const saved = process.env.XORRISO_BIN;
    process.env.XORRISO_BIN = path.join(tmp.path, 'no-such-xorriso');
    try {
      await writeFile(
        ui,
        `${await readFile(path.join(EXAMPLE, 'ui', 'deployment.yaml'), 'utf8')}# y\n`,
      );
      const cli = io();
      const code = await runSolutionCli(
        ['build', dir, '-o', iso, '--work-dir', work, '--allow-host-files'],
        cli.io,
      );
      expect(code).toBe(1);
      expect(cli.err.join('\n')).toContain('error [tool-not-found]');
      expect(await isoFiles()).toEqual([]);
    } finally {
      if (saved === undefined) delete process.env.XORRISO_BIN;
      else process.env.XORRISO_BIN = saved;
      await cp(path.join(EXAMPLE, 'ui', 'deployment.yaml'), ui);
    }
    expect((await build()).sha256).toBe(first.sha256);
  });

  it('another build holding the lock: exit 2 naming it, nothing run', async () => {
    const sleeper = execa('sleep', ['30'], { reject: false });
    try {
      const state = solutionStateDir(work);
      await writeFile(path.join(state, 'lock'), `${String(sleeper.pid)}\n`);
      const cli = io();
      const code = await runSolutionCli(
        ['build', dir, '-o', iso, '--work-dir', work, '--allow-host-files'],
        cli.io,
      );
      expect(code).toBe(2);
      expect(cli.err.join('\n')).toContain(
        `another build is running on ${work} (pid ${String(sleeper.pid)})`,
      );
      await rm(path.join(state, 'lock'));
    } finally {
      sleeper.kill();
      await sleeper;
    }
  });

  it('Ctrl-C during a stage: exit 130, no ISO, the interrupted stage reruns next time', async () => {
    await rm(work, { recursive: true, force: true });
    const controller = new AbortController();
    const cli = io();
    const running = runSolutionCli(
      ['build', dir, '-o', iso, '--work-dir', work, '--allow-host-files'],
      {
        out: (t) => cli.out.push(t),
        err: (t) => {
          cli.err.push(t);
          if (t.includes(': building')) controller.abort();
        },
      },
      controller.signal,
    );
    expect(await running).toBe(130);
    expect(
      (await readdir(path.dirname(iso))).filter((f) => f.endsWith('.iso') || f === 'SHA256SUM'),
    ).toEqual([]);
    const c = collector();
    const after = await build(c.reporter);
    expect(c.started()).toEqual(STAGES);
    expect(after.sha256).toBe(first.sha256);
  });
});
