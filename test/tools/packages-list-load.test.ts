/**
 * The package list loaders (`loadPackageList`, and the synchronous one the task factories use)
 * on disk: the same list, and the same message for a missing list, invalid YAML and a built
 * package without its spec.
 */
import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadPackageList, loadPackageListSync } from '../../buildchain/config/packages.ts';
import { makeTempDir, type TempDir } from '../helpers/tmp.ts';

const LIST = `osFamily: redhat-7
releasever: "7"
distTag: el7
repos: []
packages:
  - { name: hello, built: true }
`;

/** What each loader gives: the list, or the message and hint of its error. */
async function bothLoaders(root: string): Promise<unknown[]> {
  const outcome = (f: () => unknown) => {
    try {
      return { list: f() };
    } catch (e) {
      const err = e as { message: string; hint?: string };
      return { message: err.message, hint: err.hint };
    }
  };
  const asyncOutcome = await loadPackageList(root).then(
    (list) => ({ list }),
    (e: unknown) => {
      const err = e as { message: string; hint?: string };
      return { message: err.message, hint: err.hint };
    },
  );
  return [asyncOutcome, outcome(() => loadPackageListSync(root))];
}

describe('package list loaders', () => {
  let tmp: TempDir;
  let root: string;
  const listFile = () => path.join(root, 'packages-specs', 'redhat-7.yaml');
  beforeAll(async () => {
    tmp = await makeTempDir('mk8s-pkg-list-');
    root = tmp.path;
    await mkdir(path.join(root, 'packages-specs', 'hello'), { recursive: true });
  });
  afterAll(() => tmp.cleanup());

  it('agree on a good list, and on each of its mistakes', async () => {
    const missing = await bothLoaders(root);
    expect(missing[0]).toEqual({
      message: `no package list for OS family 'redhat-7': ${listFile()}`,
      hint: 'Create it (see packages-specs/redhat-7.yaml) or choose an existing OS family.',
    });
    expect(missing[1]).toEqual(missing[0]);

    await writeFile(listFile(), 'packages: [\n');
    const invalid = await bothLoaders(root);
    expect(invalid[0]).toMatchObject({ hint: 'Fix the syntax.' });
    expect((invalid[0] as { message: string }).message).toMatch(
      new RegExp(`^${listFile()}: invalid YAML: `),
    );
    expect(invalid[1]).toEqual(invalid[0]);

    await writeFile(listFile(), LIST);
    const spec = path.join(root, 'packages-specs', 'hello', 'hello.spec');
    const noSpec = await bothLoaders(root);
    expect(noSpec[0]).toEqual({
      message: `${listFile()}: package 'hello' is built but ${spec} is missing`,
      hint: 'Add the spec file.',
    });
    expect(noSpec[1]).toEqual(noSpec[0]);

    await writeFile(spec, 'Name: hello\n');
    const good = await bothLoaders(root);
    expect(good[0]).toMatchObject({
      list: { osFamily: 'redhat-7', packages: [{ name: 'hello' }] },
    });
    expect(good[1]).toEqual(good[0]);
    await rm(spec);
  });
});
