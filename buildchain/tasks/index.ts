/**
 * Every task of the buildchain: the domain factories, wired together. The CLI calls
 * {@link createAllTasks} once per command; factories must be cheap (no process, no network:
 * do the work in actions).
 */
import type { BuildConfig } from '../config/config.ts';
import type { TaskDefinition } from '../engine/task.ts';
import { createArtifactsTasks } from './artifacts/tasks.ts';
import { defineTasks } from '../engine/definition-errors.ts';
import { createImagesTasks } from './images/tasks.ts';
import { createIsoRootTasks } from './iso-root/tasks.ts';
import { createIsoTasks } from './iso/tasks.ts';
import { readVersionFile } from '../config/version.ts';
import { createLintTasks } from './lint/tasks.ts';
import { createMirrorTasks } from './mirror/tasks.ts';
import { createPackagingTasks } from './packages/tasks.ts';
import { createSaltTasks } from './salt/tasks.ts';
import { createSolutionTasks } from './solution/tasks.ts';
import { createVagrantTasks } from './vagrant/tasks.ts';
import type { Sources } from '../sources/sources.ts';

/**
 * Every factory's tasks. A content or settings mistake found while defining them (a malformed
 * images.yaml, IMAGE_BUILDER=foo) is a usage error: exit code 2 with its message and hint.
 */
export async function createAllTasks(
  config: BuildConfig,
  sources: Sources,
): Promise<TaskDefinition[]> {
  return Promise.resolve(defineTasks(() => defineAllTasks(config, sources), config.env));
}

function defineAllTasks(config: BuildConfig, sources: Sources): TaskDefinition[] {
  // Every product version comes from VERSION: a missing or unreadable one stops here (exit 2).
  readVersionFile(config.root);
  const content: TaskDefinition[] = [
    ...createMirrorTasks(config, sources),
    ...createImagesTasks(config, sources),
    ...createPackagingTasks(config, sources),
    ...createSaltTasks(config, sources),
    ...createIsoRootTasks(config, sources),
  ];
  // The ISO tasks need every other task's declared targets (the ISO root's expected content).
  const iso = createIsoTasks(config, sources, content);
  const tasks = [
    ...content,
    ...iso,
    ...createLintTasks(config, sources),
    ...createArtifactsTasks(config, sources),
    ...createSolutionTasks(config, sources),
    ...createVagrantTasks(config, sources),
  ];
  return tasks;
}
