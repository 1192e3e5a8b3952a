import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

/** A temporary directory removed by `cleanup()` (call it in afterAll/afterEach). */
export interface TempDir {
  readonly path: string;
  cleanup(): Promise<void>;
}

export async function makeTempDir(prefix = 'mk8s-test-'): Promise<TempDir> {
  const dir = await mkdtemp(path.join(os.tmpdir(), prefix));
  return { path: dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}
