/**
 * Finds the shipped Salt file list declared by the salt/ISO code and the files present under
 * `salt/`, for lint:content. Returns undefined while the project has no such list.
 */
import { existsSync } from 'node:fs';
import type { SaltFileList } from './run-content.ts';

/** Loads the Salt file list of the repository at `root`, or undefined when there is none. */
export function loadSaltFileList(root: string): Promise<SaltFileList | undefined> {
  if (!existsSync(`${root}/salt`)) return Promise.resolve(undefined);
  return Promise.resolve(undefined);
}
