/** `--tasks-module` for the packaging CLI suite: only the packaging tasks (until they are wired). */
import type { BuildConfig } from '../../buildchain/config/config.ts';
import type { TaskDefinition } from '../../buildchain/engine/task.ts';
import { createPackagingTasks } from '../../buildchain/tasks/packages/tasks.ts';
import type { Sources } from '../../buildchain/sources/sources.ts';

export function createTasks(config: BuildConfig, sources: Sources): TaskDefinition[] {
  return createPackagingTasks(config, sources);
}
