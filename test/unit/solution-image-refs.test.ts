import { describe, expect, it } from 'vitest';
import {
  imageRefsOfText,
  imageRefsOfTexts,
  parseImageRef,
  referencedImages,
} from '../../buildchain/tasks/solution/lint/image-refs.ts';
import { checkImageRefs } from '../../buildchain/tasks/solution/lint/lint-image-rules.ts';

const loc = { file: 'f.yaml', where: 'w' };
const digest = `sha256:${'a'.repeat(64)}`;

describe('parseImageRef', () => {
  it('removes the archive prefix MetalK8s renders, in any Jinja spacing', () => {
    for (const raw of [
      '{{ repository }}/my-operator:1.0.0',
      '{{repository}}/my-operator:1.0.0',
      '{{- repository -}}/my-operator:1.0.0',
    ]) {
      expect(parseImageRef(raw, loc)).toMatchObject({
        image: 'my-operator',
        tag: '1.0.0',
        kind: 'archive',
      });
    }
  });

  it('reads bare, external, digest-pinned and untagged references', () => {
    expect(parseImageRef('app:2.0', loc)).toMatchObject({ image: 'app', tag: '2.0', kind: 'bare' });
    expect(parseImageRef('app', loc)).toMatchObject({ image: 'app', tag: 'latest', kind: 'bare' });
    expect(parseImageRef(`{{ repository }}/app@${digest}`, loc)).toMatchObject({
      image: 'app',
      tag: '',
      digest,
      kind: 'archive',
    });
    expect(parseImageRef('quay.io/org/app:1', loc)).toMatchObject({
      image: 'org/app',
      tag: '1',
      kind: 'external',
      registry: 'quay.io',
    });
    expect(parseImageRef('localhost:5000/app:1', loc)).toMatchObject({
      kind: 'external',
      registry: 'localhost:5000',
    });
  });

  it('marks placeholders and leftover templates as invalid', () => {
    for (const raw of [
      'REPLACE_IMAGE',
      '{{ repository }}/app:{{ version }}',
      'app:@VERSION@',
      '@REPOSITORY@/app:1',
      'app@sha256:short',
      '',
    ])
      expect(parseImageRef(raw, loc).kind, raw).toBe('invalid');
  });
});

describe('imageRefsOfText', () => {
  it('finds containers, init and ephemeral containers in every workload kind, across documents', () => {
    const text = `
apiVersion: apps/v1
kind: Deployment
metadata: {name: op}
spec:
  template:
    spec:
      initContainers: [{name: wait, image: "{{ repository }}/init:1"}]
      containers: [{name: main, image: "{{ repository }}/op:1"}]
---
apiVersion: batch/v1
kind: CronJob
metadata: {name: backup}
spec:
  jobTemplate:
    spec:
      template:
        spec:
          containers: [{name: b, image: "{{ repository }}/backup:2"}]
---
apiVersion: v1
kind: Pod
metadata: {name: debug}
spec:
  containers: [{name: c, image: "{{ repository }}/c:1"}]
  ephemeralContainers: [{name: e, image: "{{ repository }}/e:1"}]
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db}
spec: {template: {spec: {containers: [{name: db, image: "{{ repository }}/db:3"}]}}}
---
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent}
spec: {template: {spec: {containers: [{name: a, image: "{{ repository }}/agent:1"}]}}}
---
apiVersion: batch/v1
kind: Job
metadata: {name: migrate}
spec: {template: {spec: {containers: [{name: m, image: "{{ repository }}/migrate:1"}]}}}
`;
    expect(
      imageRefsOfText(text, 'operator/deploy/operator.yaml').map((r) => [
        r.where,
        `${r.image}:${r.tag}`,
      ]),
    ).toEqual([
      ['Deployment/op init container wait', 'init:1'],
      ['Deployment/op container main', 'op:1'],
      ['CronJob/backup container b', 'backup:2'],
      ['Pod/debug container c', 'c:1'],
      ['Pod/debug ephemeral container e', 'e:1'],
      ['StatefulSet/db container db', 'db:3'],
      ['DaemonSet/agent container a', 'agent:1'],
      ['Job/migrate container m', 'migrate:1'],
    ]);
  });

  it('reads image fields of custom resources and RELATED_IMAGE_ env vars, skips CRD schemas', () => {
    const text = `
apiVersion: example.local/v1
kind: Instance
metadata: {name: demo}
spec:
  server: {image: "{{ repository }}/server:1"}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: op}
spec:
  template:
    spec:
      containers:
        - name: op
          image: op:1
          env:
            - {name: RELATED_IMAGE_WORKER, value: "{{ repository }}/worker:1"}
            - {name: OTHER, value: "not-an-image"}
---
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: x}
spec: {image: "should-not-count:1"}
`;
    expect(imageRefsOfText(text, 'f').map((r) => [r.where, `${r.image}:${r.tag}`])).toEqual([
      ['Instance/demo spec.server.image', 'server:1'],
      ['Deployment/op container op', 'op:1'],
      ['Deployment/op container op env RELATED_IMAGE_WORKER', 'worker:1'],
    ]);
  });

  it('reads Helm-style image objects of custom resources', () => {
    const text = `apiVersion: x/v1
kind: Instance
metadata: {name: demo}
spec:
  app: {image: {repository: "{{ repository }}/app", tag: "1.0"}}
  db: {image: {name: db, digest: "${digest}"}}
  other: {image: {pullPolicy: Always}}
`;
    expect(imageRefsOfText(text, 'f').map((r) => [r.where, r.kind, r.image, r.tag])).toEqual([
      ['Instance/demo spec.app.image', 'archive', 'app', '1.0'],
      ['Instance/demo spec.db.image', 'bare', 'db', ''],
    ]);
  });

  it('lists the distinct archive images referenced, for an image list derived from manifests', () => {
    const refs = [
      '{{ repository }}/b:1',
      'b:1',
      'a:2',
      'a:10',
      'quay.io/x/c:1',
      'REPLACE',
      `d@${digest}`,
    ].map((raw) => parseImageRef(raw, loc));
    expect(referencedImages(refs)).toEqual([
      { name: 'a', tag: '10' },
      { name: 'a', tag: '2' },
      { name: 'b', tag: '1' },
    ]);
  });

  it('reads ui/ files as 2.4 does: Jinja first, so the prefix may stand unquoted', () => {
    const pod = (image: string) =>
      `kind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n    - name: c\n      image: ${image}\n`;
    const refs = imageRefsOfTexts(
      new Map([
        ['ui/a.yaml', pod('{{ repository }}/ui:1.0.0')],
        ['ui/b.yaml', pod('@REPOSITORY@/ui:@VERSION@')],
      ]),
      '1.0.0',
    );
    expect(refs.map((r) => [r.kind, r.image, r.tag, r.raw])).toEqual([
      ['archive', 'ui', '1.0.0', '{{ repository }}/ui:1.0.0'],
      ['archive', 'ui', '1.0.0', '{{ repository }}/ui:1.0.0'],
    ]);
  });

  it('skips documents that do not parse (lint reports them as yaml-invalid)', () => {
    expect(imageRefsOfText('kind: [\n', 'f')).toEqual([]);
  });

  it('applies the build substitution to ui/ files only', () => {
    const text =
      'kind: Pod\nmetadata: {name: p}\nspec: {containers: [{name: c, image: "@REPOSITORY@/ui:@VERSION@"}]}\n';
    const refs = imageRefsOfTexts(
      new Map([
        ['ui/deployment.yaml', text],
        ['operator/deploy/operator.yaml', text],
      ]),
      '1.2.3',
    );
    expect(refs.map((r) => [r.file, r.kind, r.tag])).toEqual([
      ['operator/deploy/operator.yaml', 'invalid', ''],
      ['ui/deployment.yaml', 'archive', '1.2.3'],
    ]);
  });
});

describe('checkImageRefs', () => {
  const images = [
    { name: 'app', version: '1.0.0' },
    { name: 'spare', version: '1.0.0' },
  ];
  const ref = (raw: string) =>
    parseImageRef(raw, { file: 'ui/deployment.yaml', where: 'Deployment/ui container ui' });

  it('accepts packaged images and warns about packaged ones nobody references', () => {
    const ps = checkImageRefs([ref('{{ repository }}/app:1.0.0')], images);
    expect(ps.map((p) => [p.severity, p.code, p.file])).toEqual([
      ['warning', 'image-unreferenced', 'solution.yaml'],
    ]);
    expect(ps[0]?.message).toContain('spare:1.0.0');
  });

  it('fails on a reference the archive does not hold, naming where and what is packaged', () => {
    const ps = checkImageRefs(
      [
        ref('{{ repository }}/app:1.0.1'),
        ref('{{ repository }}/ap:1.0.0'),
        ref('{{ repository }}/spare:1.0.0'),
      ],
      images,
    );
    const errors = ps.filter((p) => p.severity === 'error');
    expect(errors.map((p) => p.code)).toEqual(['image-not-packaged', 'image-not-packaged']);
    expect(errors[0]?.message).toBe(
      'Deployment/ui container ui: image app:1.0.1 is not packaged in the archive',
    );
    expect(errors[0]?.fix).toContain('fix the tag (packaged: app:1.0.0)');
    expect(errors[1]?.fix).toContain('fix the name (packaged: app:1.0.0, spare:1.0.0)');
    // app:1.0.0 itself is then referenced nowhere.
    expect(ps.filter((p) => p.code === 'image-unreferenced').map((p) => p.message)).toEqual([
      'image app:1.0.0 is packaged but no operator, UI or CR manifest references it',
    ]);
  });

  it('warns when a ui/ file names a packaged image without the archive prefix', () => {
    const ps = checkImageRefs([ref('app:1.0.0'), ref('{{ repository }}/spare:1.0.0')], images);
    expect(ps.map((p) => [p.severity, p.code, p.file, p.fix])).toEqual([
      [
        'warning',
        'image-prefix-missing',
        'ui/deployment.yaml',
        'write @REPOSITORY@/app:1.0.0 (the build writes {{ repository }}, which MetalK8s renders)',
      ],
    ]);
    const op = parseImageRef('app:1.0.0', { file: 'operator/deploy/operator.yaml', where: 'w' });
    // Outside ui/ a bare name is accepted (only ui/ files get the prefix at build); in ui/ it warns.
    expect(checkImageRefs([op, ref('spare:1.0.0')], images).map((p) => p.code)).toEqual([
      'image-prefix-missing',
    ]);
  });

  it('errs on invalid references, warns on external ones, accepts a packaged name by digest', () => {
    const ps = checkImageRefs(
      [
        ref('REPLACE_IMAGE'),
        ref('docker.io/library/nginx:1.25'),
        ref(`{{ repository }}/app@${digest}`),
        ref('{{ repository }}/spare:1.0.0'),
      ],
      images,
    );
    expect(ps.map((p) => [p.severity, p.code])).toEqual([
      ['error', 'image-ref-invalid'],
      ['warning', 'image-external'],
    ]);
  });
});
