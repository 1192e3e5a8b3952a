/**
 * The files MetalK8s 2.4's import applies from a Solution archive, and what it silently skips.
 * 2.4 applies `operator/deploy/crds/*_crd.yaml` (any other name is ignored), the operator's
 * `role.yaml`, `role_binding.yaml`, `service_account.yaml`, `operator.yaml`, and the UI's
 * `ui/deployment.yaml` and `ui/service.yaml`. A CRD under any other name is never applied: an
 * error naming the rename. Other shipped files are kept on the ISO but never applied: a
 * warning. Pure; the table of docs/solution.md lists the same files.
 */
import { error, warning, type Problem } from './problems.ts';

/** The required operator files and the kinds each may hold. */
export const OPERATOR_FILES: Readonly<Record<string, readonly string[]>> = {
  'operator/deploy/operator.yaml': ['Deployment'],
  'operator/deploy/role.yaml': ['Role', 'ClusterRole'],
  'operator/deploy/role_binding.yaml': ['RoleBinding', 'ClusterRoleBinding'],
  'operator/deploy/service_account.yaml': ['ServiceAccount'],
};

/** The UI files 2.4 applies for every Solution, and the kind each holds. */
export const UI_FILES: Readonly<Record<string, readonly string[]>> = {
  'ui/deployment.yaml': ['Deployment'],
  'ui/service.yaml': ['Service'],
};

export const CRD_DIR = 'operator/deploy/crds/';
const CRD_KIND = 'CustomResourceDefinition';

/** One parsed document of a manifest. */
export interface Doc {
  readonly kind: string | undefined;
  readonly apiVersion: string | undefined;
  readonly object: Readonly<Record<string, unknown>>;
}

/** `operator/deploy/crds/<name>_crd.yaml`: the CRD files 2.4 applies (not recursive). */
export function isAppliedCrdPath(rel: string): boolean {
  return /^operator\/deploy\/crds\/[^/]+_crd\.yaml$/.test(rel);
}

/** `operator/deploy/crds/<name>_cr.yaml`: example custom resources, shipped, never applied. */
export function isExampleCrPath(rel: string): boolean {
  return /^operator\/deploy\/crds\/[^/]+_cr\.yaml$/.test(rel);
}

/** The path 2.4 would apply for a file holding a CRD (or, with `_cr`, an example CR). */
export function crdRename(rel: string, suffix: '_crd' | '_cr' = '_crd'): string {
  const base = rel
    .slice(rel.lastIndexOf('/') + 1)
    .replace(/\.ya?ml$/, '')
    .replace(/[-_.]?crds?$|[-_.]cr$/i, '');
  return `${CRD_DIR}${base === '' ? 'resource' : base}${suffix}.yaml`;
}

function kindsOf(docs: readonly Doc[] | undefined): string[] {
  return (docs ?? []).map((d) => d.kind ?? '?');
}

/** The CRD naming rule for one shipped file; undefined when the file is fine. */
function crdNaming(rel: string, docs: readonly Doc[] | undefined): Problem | undefined {
  const kinds = kindsOf(docs);
  const holdsCrd = kinds.includes(CRD_KIND);
  if (isAppliedCrdPath(rel)) return undefined;
  if (isExampleCrPath(rel)) {
    if (!holdsCrd) return undefined;
    return error(
      'crd-misnamed',
      rel,
      'holds a CustomResourceDefinition, but *_cr.yaml files are examples 2.4 never applies',
      `rename it to ${crdRename(rel)}`,
    );
  }
  if (rel.startsWith(CRD_DIR)) {
    const isCr = docs !== undefined && docs.length > 0 && !holdsCrd;
    return error(
      'crd-misnamed',
      rel,
      `never applied: 2.4 applies only ${CRD_DIR}*_crd.yaml${isCr ? ` (this file holds ${kinds.join(', ')})` : ''}`,
      isCr
        ? `an example custom resource: rename it to ${crdRename(rel, '_cr')}; a CRD: ${crdRename(rel)}`
        : `rename it to ${crdRename(rel)}`,
    );
  }
  if (holdsCrd && !(rel in OPERATOR_FILES) && !(rel in UI_FILES)) {
    return error(
      'crd-misnamed',
      rel,
      `holds a CustomResourceDefinition, never applied: 2.4 applies CRDs only from ${CRD_DIR}*_crd.yaml`,
      `move it to ${crdRename(rel)}`,
    );
  }
  return undefined;
}

/** The value at a key path of an object, undefined when a step is not a mapping. */
function valueAt(o: Readonly<Record<string, unknown>>, ...keys: string[]): unknown {
  let node: unknown = o;
  for (const k of keys) {
    if (typeof node !== 'object' || node === null || Array.isArray(node)) return undefined;
    node = (node as Record<string, unknown>)[k];
  }
  return node;
}

/** True when every `selector` label has the same value among the pod template's labels. */
function selects(selector: unknown, labels: unknown): boolean {
  if (typeof selector !== 'object' || selector === null) return false;
  const l = (typeof labels === 'object' && labels !== null ? labels : {}) as Record<
    string,
    unknown
  >;
  const entries = Object.entries(selector as Record<string, unknown>);
  return entries.length > 0 && entries.every(([k, v]) => l[k] === v);
}

/** ui/service.yaml must select the pods of ui/deployment.yaml (else the UI is unreachable). */
function checkUiService(parsed: ReadonlyMap<string, readonly Doc[]>): Problem[] {
  const services = (parsed.get('ui/service.yaml') ?? []).filter((d) => d.kind === 'Service');
  const pods = (parsed.get('ui/deployment.yaml') ?? [])
    .filter((d) => d.kind === 'Deployment')
    .map((d) => valueAt(d.object, 'spec', 'template', 'metadata', 'labels'));
  if (pods.length === 0) return [];
  const out: Problem[] = [];
  for (const s of services) {
    const selector = valueAt(s.object, 'spec', 'selector');
    if (!pods.some((labels) => selects(selector, labels))) {
      out.push(
        warning(
          'ui-service-selector',
          'ui/service.yaml',
          'the Service selects no pod of ui/deployment.yaml: the UI would be unreachable',
          "set spec.selector to labels of the Deployment's spec.template.metadata.labels",
        ),
      );
    }
  }
  return out;
}

/**
 * The import contract over the shipped manifests (rel path -> text, parsed documents of the
 * files that parsed): CRD names, files never applied, the UI Service's selector.
 */
export function checkContract(
  texts: ReadonlyMap<string, string>,
  parsed: ReadonlyMap<string, readonly Doc[]>,
): Problem[] {
  const out: Problem[] = [];
  const rels = [...texts.keys()].sort();
  let misnamed = 0;
  for (const rel of rels) {
    const p = crdNaming(rel, parsed.get(rel));
    if (p !== undefined) {
      out.push(p);
      misnamed += 1;
      continue;
    }
    const applied =
      rel in OPERATOR_FILES || rel in UI_FILES || isAppliedCrdPath(rel) || isExampleCrPath(rel);
    if (!applied) {
      out.push(
        warning(
          'not-applied',
          rel,
          "shipped on the ISO but never applied by 2.4's import",
          rel.startsWith('ui/')
            ? `if the cluster needs it, move its objects into ${Object.keys(UI_FILES).join(' or ')}; else keep it as documentation`
            : `if the cluster needs it, move its objects into ${Object.keys(OPERATOR_FILES).join(', ')} or ${CRD_DIR}<name>_crd.yaml; else keep it as documentation`,
        ),
      );
    }
  }
  if (misnamed === 0 && !rels.some(isAppliedCrdPath)) {
    out.push(
      error(
        'operator-file-missing',
        CRD_DIR,
        'no CustomResourceDefinition file',
        `add one ${CRD_DIR}<name>_crd.yaml per CRD`,
      ),
    );
  }
  out.push(...checkUiService(parsed));
  return out;
}
