/** `--tasks-module` for the mirror e2e suite: only the mirror tasks (until they are wired). */
import type { BuildConfig } from '../../buildchain/config/config.ts';
import type { TaskDefinition } from '../../buildchain/engine/task.ts';
import { createMirrorTasks } from '../../buildchain/tasks/mirror/tasks.ts';
import type { Sources } from '../../buildchain/sources/sources.ts';

export function createTasks(config: BuildConfig, sources: Sources): TaskDefinition[] {
  return createMirrorTasks(config, sources);
}
