/** The 2.4 import contract over the shipped manifests: what 2.4 applies, what it skips. */
import { describe, expect, it } from 'vitest';
import { crdRename } from '../../buildchain/tasks/solution/lint/contract-rules.ts';
import { checkManifests } from '../../buildchain/tasks/solution/lint/lint-yaml-rules.ts';

const CRD = 'apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\n';
const base: [string, string][] = [
  ['operator/deploy/operator.yaml', 'apiVersion: apps/v1\nkind: Deployment\n'],
  ['operator/deploy/role.yaml', 'apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\n'],
  [
    'operator/deploy/role_binding.yaml',
    'apiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\n',
  ],
  ['operator/deploy/service_account.yaml', 'apiVersion: v1\nkind: ServiceAccount\n'],
  ['operator/deploy/crds/a_crd.yaml', CRD],
  [
    'ui/deployment.yaml',
    'apiVersion: apps/v1\nkind: Deployment\nspec:\n  template:\n    metadata:\n      labels: {app: ui, tier: web}\n',
  ],
  ['ui/service.yaml', 'apiVersion: v1\nkind: Service\nspec:\n  selector: {app: ui}\n'],
];

function lint(edit: (m: Map<string, string>) => void) {
  const m = new Map(base);
  edit(m);
  return checkManifests(m).map((p) => ({ s: p.severity, c: p.code, f: p.file, fix: p.fix }));
}

describe('CRD names (2.4 applies operator/deploy/crds/*_crd.yaml only)', () => {
  it('suggests the name 2.4 applies', () => {
    expect(crdRename('operator/deploy/crds/instance.yaml')).toBe(
      'operator/deploy/crds/instance_crd.yaml',
    );
    expect(crdRename('operator/deploy/crds/instance-crd.yaml')).toBe(
      'operator/deploy/crds/instance_crd.yaml',
    );
    expect(crdRename('operator/deploy/crds/instances.crd.yml')).toBe(
      'operator/deploy/crds/instances_crd.yaml',
    );
    expect(crdRename('operator/deploy/crds/x_cr.yaml')).toBe('operator/deploy/crds/x_crd.yaml');
    expect(crdRename('operator/deploy/crds/crd.yaml')).toBe(
      'operator/deploy/crds/resource_crd.yaml',
    );
    expect(crdRename('operator/deploy/crds/x.yaml', '_cr')).toBe('operator/deploy/crds/x_cr.yaml');
  });

  it('fails on a CRD under another name, in a subdirectory, as *_cr.yaml or outside crds/', () => {
    for (const [rel, rename] of [
      ['operator/deploy/crds/widget.yaml', 'rename it to operator/deploy/crds/widget_crd.yaml'],
      ['operator/deploy/crds/widget-crd.yaml', 'rename it to operator/deploy/crds/widget_crd.yaml'],
      [
        'operator/deploy/crds/v1/widget_crd.yaml',
        'rename it to operator/deploy/crds/widget_crd.yaml',
      ],
      ['operator/deploy/crds/widget_cr.yaml', 'rename it to operator/deploy/crds/widget_crd.yaml'],
      ['operator/deploy/widget_crd.yaml', 'move it to operator/deploy/crds/widget_crd.yaml'],
    ] as const) {
      const ps = lint((m) => m.set(rel, CRD));
      expect(ps, rel).toEqual([{ s: 'error', c: 'crd-misnamed', f: rel, fix: rename }]);
    }
  });

  it('keeps example CRs (*_cr.yaml) and tells a misnamed CR from a misnamed CRD', () => {
    expect(
      lint((m) => m.set('operator/deploy/crds/widget_cr.yaml', 'apiVersion: x/v1\nkind: Widget\n')),
    ).toEqual([]);
    const ps = lint((m) =>
      m.set('operator/deploy/crds/widget.yaml', 'apiVersion: x/v1\nkind: Widget\n'),
    );
    expect(ps.map((p) => p.c)).toEqual(['crd-misnamed']);
    expect(ps[0]?.fix).toBe(
      'an example custom resource: rename it to operator/deploy/crds/widget_cr.yaml; a CRD: operator/deploy/crds/widget_crd.yaml',
    );
  });

  it('asks for a CRD file only when no misnamed one explains its absence', () => {
    expect(lint((m) => m.delete('operator/deploy/crds/a_crd.yaml')).map((p) => p.c)).toEqual([
      'operator-file-missing',
    ]);
    const moved = lint((m) => {
      m.delete('operator/deploy/crds/a_crd.yaml');
      m.set('operator/deploy/crds/a.yaml', CRD);
    });
    expect(moved.map((p) => p.c)).toEqual(['crd-misnamed']);
  });
});

describe('UI files (2.4 applies ui/deployment.yaml and ui/service.yaml)', () => {
  it('requires both, with their kinds', () => {
    expect(lint((m) => m.delete('ui/service.yaml'))).toEqual([
      {
        s: 'error',
        c: 'ui-file-missing',
        f: 'ui/service.yaml',
        fix: 'create ui/service.yaml with a Service (see `metalk8s-solution init`)',
      },
    ]);
    expect(lint((m) => m.delete('ui/deployment.yaml')).map((p) => [p.c, p.f])).toEqual([
      ['ui-file-missing', 'ui/deployment.yaml'],
    ]);
    expect(
      lint((m) => m.set('ui/service.yaml', 'apiVersion: apps/v1\nkind: Deployment\n')).map(
        (p) => p.c,
      ),
    ).toEqual(['ui-kind']);
  });

  it('parses ui/ files as rendered: unquoted @REPOSITORY@, @VERSION@ and {{ repository }} are valid', () => {
    const ui = (image: string) =>
      `apiVersion: apps/v1\nkind: Deployment\nmetadata: {labels: {v: @VERSION@}}\nspec:\n  template:\n    metadata:\n      labels: {app: ui, tier: web}\n    spec:\n      containers:\n        - image: ${image}\n`;
    expect(lint((m) => m.set('ui/deployment.yaml', ui('@REPOSITORY@/app:@VERSION@')))).toEqual([]);
    expect(lint((m) => m.set('ui/deployment.yaml', ui('{{ repository }}/app:1.0.0')))).toEqual([]);
    // Outside ui/ nothing renders them: the YAML is invalid as written.
    expect(
      lint((m) =>
        m.set(
          'operator/deploy/operator.yaml',
          'apiVersion: apps/v1\nkind: Deployment\nimage: @X@\n',
        ),
      ).map((p) => p.c),
    ).toEqual(['yaml-invalid']);
  });

  it('renders Jinja comments and raw blocks; names any other Jinja with its line', () => {
    const head = 'apiVersion: apps/v1\nkind: Deployment\n';
    const pod = 'spec:\n  template:\n    metadata:\n      labels: {app: ui, tier: web}\n';
    // A comment (even over two lines) goes; a raw block is kept as text; both are valid.
    const rendered = `{# the UI,\n   served by nginx #}\n${head}metadata:\n  annotations:\n    fmt: "{% raw %}{{ .Name }}{% endraw %}"\n${pod}`;
    expect(lint((m) => m.set('ui/deployment.yaml', rendered))).toEqual([]);
    // Each other construct: an error naming the file, its line and the construct; no yaml-invalid.
    const jinja = `${head}metadata:\n  name: ui\n{% if debug %}\n  labels: {debug: "1"}\n{% endif %}\n${pod}  replicas: {{ replicas }}\n`;
    const ps = checkManifests(new Map([...base, ['ui/deployment.yaml', jinja]]));
    expect(ps.map((p) => [p.severity, p.code, p.file])).toEqual([
      ['error', 'ui-jinja', 'ui/deployment.yaml'],
      ['error', 'ui-jinja', 'ui/deployment.yaml'],
      ['error', 'ui-jinja', 'ui/deployment.yaml'],
    ]);
    expect(ps.map((p) => p.message.slice(0, p.message.indexOf(': MetalK8s')))).toEqual([
      'line 5: Jinja statement {% if debug %}',
      'line 7: Jinja statement {% endif %}',
      'line 12: Jinja expression {{ replicas }}',
    ]);
    expect(ps[0]?.fix).toContain('{% raw %}');
    // An unclosed delimiter, or a raw block never ended.
    for (const [text, line, what] of [
      [`${head}metadata: {name: "{{ repository"}\n`, 3, '{{'],
      [`${head}{% raw %}\nx: 1\n`, 3, '{% raw %}'],
    ] as const) {
      const [p] = checkManifests(new Map([...base, ['ui/deployment.yaml', text]]));
      expect(p?.code).toBe('ui-jinja');
      expect(p?.message).toMatch(new RegExp(`^line ${String(line)}: .* is never closed`));
      expect(p?.message).toContain(what);
    }
    // A ui/ file 2.4 does not apply is not rendered by it: no ui-jinja (only not-applied).
    const extra = lint((m) =>
      m.set('ui/extra.yaml', 'apiVersion: v1\nkind: ConfigMap\nx: "{{ y }}"\n'),
    );
    expect(extra.map((p) => p.c)).toEqual(['not-applied']);
  });

  it('warns when the Service selects no pod of the Deployment', () => {
    const ps = lint((m) =>
      m.set('ui/service.yaml', 'apiVersion: v1\nkind: Service\nspec:\n  selector: {app: other}\n'),
    );
    expect(ps.map((p) => [p.s, p.c])).toEqual([['warning', 'ui-service-selector']]);
    expect(
      lint((m) => m.set('ui/service.yaml', 'apiVersion: v1\nkind: Service\n')).map((p) => p.c),
    ).toEqual(['ui-service-selector']);
  });
});

describe('files 2.4 never applies', () => {
  it('warns about shipped files outside the applied set', () => {
    const ps = lint((m) => {
      m.set('operator/deploy/extra.yaml', 'apiVersion: v1\nkind: ConfigMap\n');
      m.set('ui/ingress.yaml', 'apiVersion: networking.k8s.io/v1\nkind: Ingress\n');
    });
    expect(ps.map((p) => [p.s, p.c, p.f])).toEqual([
      ['warning', 'not-applied', 'operator/deploy/extra.yaml'],
      ['warning', 'not-applied', 'ui/ingress.yaml'],
    ]);
    expect(ps[1]?.fix).toContain('ui/deployment.yaml or ui/service.yaml');
  });
});
