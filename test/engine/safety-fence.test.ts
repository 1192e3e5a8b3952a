/**
 * The build directory is a fence (issue 16): the CLI refuses a BUILD_ROOT that is not a
 * dedicated directory before anything runs (checked with `list` only: no build ever runs with
 * such a BUILD_ROOT), and no removal (clean, images clean and prune, stale repos, ISO root
 * strays) follows a symlink out of BUILD_ROOT. Strays are reported as docs/iso.md says.
 */
import {
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  symlinkSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { BuildConfig } from '../../buildchain/config/config.ts';
import { loadConfig } from '../../buildchain/config/load.ts';
import type { BuildEvent, Reporter } from '../../buildchain/engine/events.ts';
import { UsageError } from '../../buildchain/engine/failures.ts';
import { runActions } from '../../buildchain/engine/run-actions.ts';
import type { TaskDefinition } from '../../buildchain/engine/task.ts';
import { pruneImages } from '../../buildchain/tasks/images/prune.ts';
import { createImagesTasks } from '../../buildchain/tasks/images/tasks.ts';
import { createIsoTasks } from '../../buildchain/tasks/iso/tasks.ts';
import { pruneRepoDirs } from '../../buildchain/tasks/packages/repo.ts';
import { testConfig, unusedSources } from '../helpers/config.ts';
import { eventOf } from '../helpers/ndjson.ts';
import { runCli, type CliResult } from '../helpers/run-cli.ts';
import { makeTempDir, type TempDir } from '../helpers/tmp.ts';
import { createWorkspace, type Workspace } from '../helpers/workspace.ts';
import { taskRejection } from '../helpers/rejection.ts';

const sources = unusedSources();

let ws: Workspace;
let canary: TempDir;

/** Every path under `dir` (relative; symlinks listed, never followed): nothing removed or written. */
function listing(dir: string, rel = ''): string[] {
  return readdirSync(path.join(dir, rel), { withFileTypes: true })
    .flatMap((e) => {
      const r = path.join(rel, e.name);
      return e.isDirectory() ? [r, ...listing(dir, r)] : [r];
    })
    .sort();
}

function expectNoStack(r: CliResult): void {
  expect(r.stderr).not.toContain('    at ');
  expect(r.stdout).not.toContain('    at ');
}

beforeEach(async () => {
  ws = await createWorkspace(`return [{ name: 'iso', doc: 'the ISO', actions: [sh('true')] }];`);
  canary = await makeTempDir('mk8s-canary-');
  mkdirSync(path.join(canary.path, 'x/deep'), { recursive: true });
  writeFileSync(path.join(canary.path, 'x/deep/precious'), 'precious');
  writeFileSync(path.join(canary.path, 'keep.tar'), 'precious');
});
afterEach(async () => {
  await ws.cleanup();
  await canary.cleanup();
});

describe('the CLI refuses a BUILD_ROOT that is not a dedicated directory (list only, no build)', () => {
  /** `list` with this BUILD_ROOT, after checking in-process that it is refused (never run otherwise). */
  async function refusedList(env: Record<string, string>): Promise<CliResult> {
    expect(() => loadConfig(ws.dir, { ...process.env, ...env })).toThrow(UsageError);
    const before = listing(ws.dir);
    const r = await runCli(ws, ['list'], { env });
    expect(r.code).toBe(2);
    expect(eventOf(r.events, 'error')).toMatchObject({ reason: 'invalid-env' });
    expect(String(eventOf(r.events, 'error').hint)).toContain(
      'set BUILD_ROOT in .env to a dedicated directory such as _build',
    );
    expectNoStack(r);
    expect(listing(ws.dir)).toEqual(before);
    return r;
  }

  it('BUILD_ROOT=/ is refused, naming it and why', async () => {
    const r = await refusedList({ BUILD_ROOT: '/' });
    expect(String(eventOf(r.events, 'error').message)).toBe(
      'BUILD_ROOT=/: / cannot be the build directory (it is the filesystem root)',
    );
    const text = await runCli(ws, ['list'], { env: { BUILD_ROOT: '/' }, console: true });
    expect(text.code).toBe(2);
    expect(text.stderr).toContain('error: BUILD_ROOT=/: / cannot be the build directory');
    expect(text.stderr).toContain('hint: set BUILD_ROOT in .env');
    expect(text.stdout).toBe('');
  });

  it('a _build that is a symlink to / is refused', async () => {
    symlinkSync('/', ws.path('_build'));
    try {
      const r = await refusedList({});
      expect(String(eventOf(r.events, 'error').message)).toContain(
        `${ws.path('_build')}, resolved to /,`,
      );
    } finally {
      unlinkSync(ws.path('_build'));
    }
  });

  it('a BUILD_ROOT symlinked to the repository, or inside a source directory, is refused', async () => {
    const link = path.join(canary.path, 'repo-link');
    symlinkSync(ws.dir, link);
    const r = await refusedList({ BUILD_ROOT: link });
    expect(String(eventOf(r.events, 'error').message)).toContain(
      `resolved to ${ws.dir}, cannot be the build directory (it is the repository itself)`,
    );
    const bin = await refusedList({ BUILD_ROOT: 'bin/out' });
    expect(String(eventOf(bin.events, 'error').message)).toContain("repository's bin/ directory");
  });

  it('.env being a directory is exit 2 naming it, without a stack trace', async () => {
    mkdirSync(ws.path('.env'));
    const r = await runCli(ws, ['list']);
    expect(r.code).toBe(2);
    expect(eventOf(r.events, 'error')).toMatchObject({
      reason: 'invalid-env',
      message: `${ws.path('.env')} is a directory, not a regular file`,
    });
    expect(String(eventOf(r.events, 'error').hint)).toContain('a readable regular file');
    expectNoStack(r);
  });
});

describe('action warnings', () => {
  it('a ctx.log warning is shown without -v (JSON and console); other log lines are not', async () => {
    ws.setTasks(
      `return [{ name: 'iso', actions: [fn('warn', async (ctx) => { ctx.log('warning: dropped x'); ctx.log('plain'); })] }];`,
    );
    const r = await runCli(ws, ['iso']);
    expect(r.code).toBe(0);
    const outputs = r.events.filter((e) => e.event === 'output');
    expect(outputs).toHaveLength(1);
    expect(outputs[0]).toMatchObject({ task: 'iso', stream: 'log', line: 'warning: dropped x' });
    ws.remove('_build');
    const text = await runCli(ws, ['iso'], { console: true });
    expect(text.stdout).toContain('   iso | warning: dropped x\n');
    expect(text.stdout).not.toContain('plain');
  });
});

describe('clean never follows a symlink out of BUILD_ROOT', () => {
  it('refuses a target under a symlink to outside; removes the symlink itself; keeps the state', async () => {
    ws.setTasks(`return [
      { name: 'under', targets: ['_build/root/packages/x'], clean: true, actions: [] },
      { name: 'link', targets: ['_build/root/packages'], clean: true, actions: [] },
      { name: 'state', targets: ['_build/.buildchain'], clean: true, actions: [] },
      { name: 'iso', actions: [sh('true')] },
    ];`);
    expect((await runCli(ws, ['iso'])).code).toBe(0);
    mkdirSync(ws.path('_build/root'), { recursive: true });
    symlinkSync(canary.path, ws.path('_build/root/packages'));
    const before = listing(canary.path);
    const r = await runCli(ws, ['clean', 'under']);
    expect(r.code).toBe(0);
    expect(eventOf(r.events, 'clean', 'under')).toMatchObject({
      removed: [],
      refused: [ws.path('_build/root/packages/x')],
    });
    const text = await runCli(ws, ['clean', 'under'], { console: true });
    expect(text.stdout).toContain(
      `!! not removing ${ws.path('_build/root/packages/x')} (under): outside BUILD_ROOT`,
    );
    expect(listing(canary.path)).toEqual(before);
    const state = await runCli(ws, ['clean', 'state']);
    expect(eventOf(state.events, 'clean', 'state').refused).toEqual([
      ws.path('_build/.buildchain'),
    ]);
    expect(existsSync(ws.path('_build/.buildchain/state.json'))).toBe(true);
    const link = await runCli(ws, ['clean', 'link']);
    // The link itself, then the directory its removal left empty (never the canary behind it).
    expect(eventOf(link.events, 'clean', 'link').removed).toEqual([
      ws.path('_build/root/packages'),
      ws.path('_build/root'),
    ]);
    expect(existsSync(ws.path('_build/root/packages'))).toBe(false);
    expect(listing(canary.path)).toEqual(before);
    expectNoStack(r);
  });
});

/** Events of the engine's action runner (no -v). */
function collector(): { reporter: Reporter; events: BuildEvent[] } {
  const events: BuildEvent[] = [];
  return { events, reporter: { emit: (e) => events.push(e), close: () => Promise.resolve() } };
}

async function runTaskActions(
  task: TaskDefinition | undefined,
  config: BuildConfig,
  reporter: Reporter,
  clean = false,
): Promise<void> {
  if (task === undefined) throw new Error('no such task');
  const actions = clean ? (Array.isArray(task.clean) ? task.clean : []) : (task.actions ?? []);
  await runActions(actions, {
    task: task.name,
    root: config.root,
    signal: new AbortController().signal,
    reporter,
    verbose: false,
  });
}

describe('ISO root strays', () => {
  function populate(env: Record<string, string> = {}): {
    config: BuildConfig;
    task: TaskDefinition | undefined;
  } {
    const config = testConfig(ws.dir, env);
    return {
      config,
      task: createIsoTasks(config, sources, []).find((t) => t.name === 'populate_iso'),
    };
  }

  it('are removed with a warning shown without -v (an output event), as docs/iso.md says', async () => {
    const { config, task } = populate();
    mkdirSync(path.join(config.isoRoot, 'dropped'), { recursive: true });
    writeFileSync(path.join(config.isoRoot, 'dropped/by-hand.txt'), 'x');
    const { reporter, events } = collector();
    await runTaskActions(task, config, reporter);
    expect(events).toContainEqual({
      event: 'output',
      task: 'populate_iso',
      stream: 'log',
      line: 'warning: removing dropped from the ISO root: no task produces it',
    });
    expect(existsSync(path.join(config.isoRoot, 'dropped'))).toBe(false);
  });

  it('ISO_ROOT_STRAYS=fail still fails naming them, removing nothing', async () => {
    const { config, task } = populate({ ISO_ROOT_STRAYS: 'fail' });
    mkdirSync(config.isoRoot, { recursive: true });
    writeFileSync(path.join(config.isoRoot, 'by-hand.txt'), 'x');
    const err = await taskRejection(runTaskActions(task, config, collector().reporter));
    expect(err.reason).toBe('invalid-input');
    expect(err.message).toContain('by-hand.txt');
    expect(existsSync(path.join(config.isoRoot, 'by-hand.txt'))).toBe(true);
  });

  it('an ISO root symlinked out of BUILD_ROOT fails the task; the canary is intact', async () => {
    const { config, task } = populate();
    mkdirSync(config.buildRoot, { recursive: true });
    symlinkSync(canary.path, config.isoRoot);
    const before = listing(canary.path);
    const err = await taskRejection(runTaskActions(task, config, collector().reporter));
    expect(err.reason).toBe('invalid-input');
    expect(err.message).toMatch(/^refusing to remove .*: it is not inside /);
    expect(listing(canary.path)).toEqual(before);
  });
});

describe('images and repositories removals stay inside BUILD_ROOT', () => {
  it('images:prune refuses an images directory symlinked outside; nothing removed', async () => {
    const config = testConfig(ws.dir);
    mkdirSync(config.isoRoot, { recursive: true });
    symlinkSync(canary.path, path.join(config.isoRoot, 'images'));
    const before = listing(canary.path);
    const err = await taskRejection(
      pruneImages({
        imagesDir: path.join(config.isoRoot, 'images'),
        keep: new Set(),
        keepArchives: new Set(),
        fence: config.buildRoot,
      }),
    );
    expect(err.message).toContain('refusing to remove');
    expect(listing(canary.path)).toEqual(before);
  });

  it('stale repos under a symlinked repo directory are refused; nothing removed', async () => {
    const config = testConfig(ws.dir);
    mkdirSync(path.join(canary.path, 'metalk8s-old-el7'));
    mkdirSync(path.join(config.isoRoot, 'packages'), { recursive: true });
    symlinkSync(canary.path, path.join(config.isoRoot, 'packages/redhat'));
    const before = listing(canary.path);
    const err = await taskRejection(
      pruneRepoDirs(
        config.buildRoot,
        path.join(config.isoRoot, 'packages/redhat'),
        [],
        'metalk8s',
        'el7',
      ),
    );
    expect(err.message).toContain(
      `refusing to remove ${path.join(config.isoRoot, 'packages/redhat/metalk8s-old-el7')}`,
    );
    expect(listing(canary.path)).toEqual(before);
  });

  it('the images clean action refuses a layout behind a symlink to outside', async () => {
    ws.write(
      'images/images.yaml',
      `images:
  - name: x
    version: deep
    source: { registry: quay.io, repository: example/x }
    digest: sha256:${'a'.repeat(64)}
`,
    );
    const config = testConfig(ws.dir);
    const task = createImagesTasks(config, sources).find((t) => Array.isArray(t.clean));
    mkdirSync(config.isoRoot, { recursive: true });
    symlinkSync(canary.path, path.join(config.isoRoot, 'images'));
    const before = listing(canary.path);
    const err = await taskRejection(runTaskActions(task, config, collector().reporter, true));
    expect(err.message).toContain(
      `refusing to remove ${path.join(config.isoRoot, 'images/x/deep')}`,
    );
    expect(listing(canary.path)).toEqual(before);
    expect(lstatSync(path.join(config.isoRoot, 'images')).isSymbolicLink()).toBe(true);
  });
});
