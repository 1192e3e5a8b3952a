/**
 * Every task of the buildchain: the domain factories, wired together. The CLI calls
 * {@link createAllTasks} once per command; factories must be cheap (no process, no network:
 * do the work in actions).
 */
import type { BuildConfig } from '../config/config.ts';
import type { TaskDefinition } from '../engine/task.ts';
import type { Sources } from './sources.ts';

export async function createAllTasks(config: BuildConfig, sources: Sources): Promise<TaskDefinition[]> {
  const tasks: TaskDefinition[] = [];
  // Domain factories go here (the lead wires them), e.g.:
  //   tasks.push(...createImagesTasks(config, sources));
  void config;
  void sources;
  return Promise.resolve(tasks);
}
