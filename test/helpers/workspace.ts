/**
 * A temporary project for engine behaviour suites: the repository's .env.example, a tasks
 * module (loaded by the CLI through its `--tasks-module` testing hook), a `bin/` directory put
 * first on PATH for fake tools, and BUILD_ROOT `_build`.
 */
import {
  copyFileSync,
  cpSync,
  existsSync,
  mkdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { cp, symlink } from 'node:fs/promises';
import path from 'node:path';
import { makeTempDir } from './tmp.ts';

export const REPO_ROOT = path.resolve(import.meta.dirname, '../..');

/**
 * A copy of the buildchain at `dest` (bin, sources, doit.sh, package.json, .env.example; the
 * repository's node_modules linked): edits there never touch the repository's dist/.
 */
export function copyBuildchain(dest: string): void {
  for (const p of ['bin', 'buildchain', 'doit.sh', 'package.json', '.env.example'])
    cpSync(path.join(REPO_ROOT, p), path.join(dest, p), { recursive: true });
  symlinkSync(path.join(REPO_ROOT, 'node_modules'), path.join(dest, 'node_modules'));
}

/** What a fresh clone of the repository lacks: packages, build outputs, git data, local settings. */
const NOT_IN_A_CLONE = new Set(['node_modules', '_build', '.git', '.env']);

/**
 * The whole repository at `dest` as a fresh clone has it (no `_build`, `.git` or `.env`), the
 * repository's node_modules linked: a build there never touches the repository's outputs.
 */
export async function copyRepository(dest: string): Promise<void> {
  await cp(REPO_ROOT, dest, {
    recursive: true,
    verbatimSymlinks: true,
    filter: (src) => path.dirname(src) !== REPO_ROOT || !NOT_IN_A_CLONE.has(path.basename(src)),
  });
  await symlink(path.join(REPO_ROOT, 'node_modules'), path.join(dest, 'node_modules'));
}

export interface Workspace {
  readonly dir: string;
  readonly binDir: string;
  readonly tasksModule: string;
  /** Absolute path of a workspace-relative path. */
  path(rel: string): string;
  write(rel: string, content: string): void;
  read(rel: string): string;
  exists(rel: string): boolean;
  remove(rel: string): void;
  /** Replaces the tasks module: `body` is the body of `createTasks(config)` returning tasks. */
  setTasks(body: string): void;
  cleanup(): Promise<void>;
}

/**
 * The module prelude gives the body `cmd`, `fn`, `sh(script)` (a `sh -c` command action),
 * `fs` (node:fs/promises) and `config` (the BuildConfig).
 */
function tasksSource(body: string): string {
  return `import { cmd, fn } from ${JSON.stringify(path.join(REPO_ROOT, 'buildchain/engine/task.ts'))};
import * as fs from 'node:fs/promises';
const sh = (script) => cmd(['sh', '-c', script]);
void fn; void fs; void sh;
export function createTasks(config) {
  void config;
${body}
}
`;
}

export async function createWorkspace(tasksBody: string): Promise<Workspace> {
  const tmp = await makeTempDir('mk8s-engine-');
  const dir = tmp.path;
  copyFileSync(path.join(REPO_ROOT, '.env.example'), path.join(dir, '.env.example'));
  const binDir = path.join(dir, 'bin');
  mkdirSync(binDir);
  const tasksModule = path.join(dir, 'tasks.mjs');
  const ws: Workspace = {
    dir,
    binDir,
    tasksModule,
    path: (rel) => path.join(dir, rel),
    write(rel, content) {
      mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
      writeFileSync(path.join(dir, rel), content);
    },
    read: (rel) => readFileSync(path.join(dir, rel), 'utf8'),
    exists: (rel) => existsSync(path.join(dir, rel)),
    remove(rel) {
      rmSync(path.join(dir, rel), { recursive: true, force: true });
    },
    setTasks(body) {
      writeFileSync(tasksModule, tasksSource(body));
    },
    // `<dir>.tasks` holds the copies of the tasks module that in-process runs load (run-cli.ts).
    cleanup: async () => {
      await tmp.cleanup();
      rmSync(`${dir}.tasks`, { recursive: true, force: true });
    },
  };
  ws.setTasks(tasksBody);
  return ws;
}
