/**
 * Issue 16, inputs that name files and names that become paths (pure checks): image names and
 * tags within the registry and ISO limits, `build.file` relative, Solution host files an
 * explicit opt-in, the Solution CLI's --allow-host-files.
 */
import { describe, expect, it } from 'vitest';
import { validateImageList } from '../../buildchain/config/images.ts';
import {
  imageNameProblem,
  isRepositoryName,
  MAX_ISO_COMPONENT_CHARS,
  pathComponentProblem,
  tagProblem,
} from '../../buildchain/lib/text/distribution-names.ts';
import {
  parseSolutionArgs,
  SolutionUsageError,
} from '../../buildchain/tasks/solution/config/cli-args.ts';
import { hostFilesNotAllowed } from '../../buildchain/tasks/solution/config/host-files.ts';
import { checkImages } from '../../buildchain/tasks/solution/lint/lint-config-rules.ts';
import {
  parseSolutionConfig,
  type SolutionConfig,
} from '../../buildchain/tasks/solution/config/solution-config.ts';

const D = `sha256:${'a'.repeat(64)}`;
const LONG_NAME = 'a'.repeat(300);

function listProblems(images: unknown[]): string {
  return validateImageList({ images }, 'images/images.yaml').problems.join('\n');
}

describe('image name and tag limits (registry, ISO, NAME_MAX)', () => {
  it('a 300-character image name is refused naming the image and the limit', () => {
    const text = listProblems([
      {
        name: LONG_NAME,
        version: '1.0',
        source: { registry: 'quay.io', repository: 'a/b' },
        digest: D,
      },
    ]);
    expect(text).toContain(`images/images.yaml: images[0] (${'a'.repeat(40)}… (300 characters))`);
    expect(text).toContain('is 300 bytes, more than the 255 a file name holds (NAME_MAX)');
    expect(text).toContain('shorten it to at most 103 characters');
  });

  it('a name or tag longer than a Joliet path component (103) is refused; 103 is fine', () => {
    expect(imageNameProblem('a'.repeat(MAX_ISO_COMPONENT_CHARS))).toBeUndefined();
    expect(imageNameProblem('a'.repeat(104))?.message).toMatch(
      /is 104 characters, more than the 103 a path component of the ISO holds/,
    );
    expect(tagProblem('v'.repeat(103))).toBeUndefined();
    expect(tagProblem('v'.repeat(128))?.message).toMatch(/is 128 characters, more than the 103/);
    expect(tagProblem('v'.repeat(129))?.message).toMatch(
      /is 129 characters, more than the 128 a registry tag holds/,
    );
    expect(tagProblem('-bad')?.message).toBe('version "-bad" is not a valid tag');
    expect(
      listProblems([{ name: 'x', version: 'v'.repeat(120), build: { context: 'images/x' } }]),
    ).toContain(
      'images[0] (x): version "vvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvv… (120 characters)" is 120 characters, more than the 103',
    );
  });

  it('repository names stay within 255 characters; each archivePath component within 103', () => {
    expect(isRepositoryName(`${'a'.repeat(127)}/${'b'.repeat(127)}`)).toBe(true);
    expect(isRepositoryName(`${'a'.repeat(128)}/${'b'.repeat(127)}`)).toBe(false);
    expect(pathComponentProblem('é'.repeat(130), 'x')?.message).toMatch(
      /260 bytes, more than the 255/,
    );
    const text = listProblems([
      {
        name: 'pause',
        version: '3.1',
        source: { registry: 'k8s.gcr.io', repository: 'pause' },
        digest: D,
        ship: 'archive',
        archivePath: `images/${'p'.repeat(110)}.tar`,
      },
    ]);
    expect(text).toContain('images[0] (pause): archivePath component');
    expect(text).toContain('is 114 characters, more than the 103');
  });

  it('a Solution image name or tag over the limits is an image-name / image-tag error', () => {
    const config: SolutionConfig = {
      name: 'A',
      version: '1.0.0',
      requireMetalK8s: '>=2.4.0',
      archiveLayoutVersion: 1,
      manifestYaml: false,
      images: [
        {
          name: LONG_NAME,
          version: 'v'.repeat(110),
          ship: 'dir',
          platforms: 'linux/amd64',
          source: { registry: 'quay.io', repository: 'a/b' },
          digest: D,
        },
      ],
    };
    const problems = checkImages(config, []);
    expect(problems.map((p) => p.code)).toEqual(['image-name', 'image-tag']);
    expect(problems[0]?.message).toContain('(300 characters)');
    expect(problems[1]?.message).toContain('is 110 characters, more than the 103');
  });
});

describe('images.yaml build.file', () => {
  it('is a path relative to the context: an absolute path is refused naming the key', () => {
    expect(
      listProblems([
        { name: 'x', version: '1', build: { context: 'images/x', file: '/etc/shadow' } },
      ]),
    ).toContain(
      'images/images.yaml: images[0] (x): build.file "/etc/shadow" must be a path relative to build.context',
    );
  });
});

describe('Solution host files: an explicit opt-in', () => {
  const yaml = (hostFiles: string): string =>
    `name: A\nversion: 1.0.0\nrequireMetalK8s: ">=2.4"\nimages:\n  - {name: app, version: 1.0.0, build: {context: images/app, hostFiles: ${hostFiles}}}\n`;

  it('hostFiles must be a mapping of strings (a list or a number is config-invalid, not a crash)', () => {
    for (const bad of ['[/etc/shadow]', '{a: 5}', '7']) {
      const r = parseSolutionConfig(yaml(bad));
      expect(
        r.problems.map((p) => p.code),
        bad,
      ).toEqual(['config-invalid']);
      expect(r.problems[0]?.message).toContain(
        'image app: build.hostFiles must map a path in the build context to an absolute host path',
      );
    }
  });

  it('a build without the opt-in names every host file', () => {
    const { config } = parseSolutionConfig(yaml('{busybox: /bin/busybox, shadow: /etc/shadow}'));
    if (config === undefined) throw new Error('no config');
    const problems = hostFilesNotAllowed(config);
    expect(problems.map((p) => [p.severity, p.code])).toEqual([
      ['error', 'host-file-not-allowed'],
      ['error', 'host-file-not-allowed'],
    ]);
    expect(problems[1]?.message).toBe(
      'image app:1.0.0: hostFiles.shadow: would copy the host file /etc/shadow into the image and onto the ISO, without --allow-host-files',
    );
    expect(problems[1]?.fix).toContain('--allow-host-files');
  });

  it('--allow-host-files is a build option only', () => {
    expect(parseSolutionArgs(['build', 'd', '--allow-host-files'])).toMatchObject({
      allowHostFiles: true,
    });
    expect(parseSolutionArgs(['build', 'd'])).toMatchObject({ allowHostFiles: false });
    expect(() => parseSolutionArgs(['lint', 'd', '--allow-host-files'])).toThrow(
      SolutionUsageError,
    );
  });
});
