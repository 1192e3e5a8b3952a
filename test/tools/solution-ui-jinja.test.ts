/**
 * What lint renders of a ui/ file's Jinja (ui-jinja.ts) is what real Jinja (python3-jinja2,
 * as Salt's `template: jinja` renders it at import) makes of it: `{{ repository }}`, comments,
 * raw blocks and whitespace control give the same text; what lint reports as unknown is what
 * Jinja cannot render from `repository` alone.
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPOSITORY_STAND_IN } from '../../buildchain/tasks/solution/lint/image-ref.ts';
import { renderUiJinja } from '../../buildchain/tasks/solution/lint/ui-jinja.ts';
import { missingJinja, tryRenderJinjaFile } from '../helpers/jinja.ts';
import { makeTempDir, type TempDir } from '../helpers/tmp.ts';

const ENV = 'example-1.0.0';

const RENDERED: readonly string[] = [
  'image: {{ repository }}/app:1.0.0\n',
  'image: {{repository}}/a:1\nother: {{- repository -}} /b\n',
  '{# a comment\n   over two lines #}\nkind: Deployment\n',
  'a: 1\n{#- trimmed before and after -#}\n\nb: 2\n',
  'fmt: "{% raw %}{{ .Name }} {% if %}{% endraw %}"\n',
  'x: |\n  {% raw -%}\n    {{ keep }}\n  {%- endraw %}\ny: 1\n',
  'labels: {app: ui}\nsel: {a: {b: c}}\n',
];

const UNKNOWN: readonly string[] = [
  'replicas: {{ replicas }}\n',
  '{% if debug %}\ndebug: 1\n{% endif %}\n',
  'name: "{{ repository"\n',
  '{% raw %}\nx: 1\n',
];

describe.skipIf(missingJinja().length > 0)('ui/ Jinja: lint and real Jinja agree', () => {
  let tmp: TempDir;
  let n = 0;
  const jinja = async (text: string) => {
    const file = path.join(tmp.path, `t${String(n++)}.yaml`);
    await writeFile(file, text);
    return tryRenderJinjaFile(file, { repository: ENV });
  };

  beforeAll(async () => {
    tmp = await makeTempDir('mk8s-ui-jinja-');
  });
  afterAll(async () => {
    await tmp.cleanup();
  });

  it('renders repository, comments, raw blocks and whitespace control as Jinja does', async () => {
    for (const text of RENDERED) {
      const ours = renderUiJinja(text);
      expect(ours.unknown, text).toEqual([]);
      expect(await jinja(text), text).toEqual({
        ok: true,
        text: ours.text.replaceAll(REPOSITORY_STAND_IN, ENV),
      });
    }
  });

  it('reports as unknown what Jinja cannot render from repository alone', async () => {
    for (const text of UNKNOWN) {
      expect(renderUiJinja(text).unknown, text).not.toEqual([]);
      expect((await jinja(text)).ok, text).toBe(false);
    }
  });
});
