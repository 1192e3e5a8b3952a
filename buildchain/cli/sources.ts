/** Creates the Sources object of a command (stopped by main.ts when the command ends). */
import type { BuildConfig } from '../config/config.ts';
import { createSources, type Sources } from '../sources/sources.ts';

export function openSources(config: BuildConfig): Promise<Sources> {
  return Promise.resolve(createSources(config));
}
