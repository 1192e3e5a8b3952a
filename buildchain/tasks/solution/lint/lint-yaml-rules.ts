/** Lint rules on the operator and UI manifests: YAML validity and expected kinds. Pure. */
import YAML from 'yaml';
import { error, warning, type Problem } from './problems.ts';

/** The required operator files and the kinds each may hold. */
export const OPERATOR_FILES: Readonly<Record<string, readonly string[]>> = {
  'operator/deploy/operator.yaml': ['Deployment'],
  'operator/deploy/role.yaml': ['Role', 'ClusterRole'],
  'operator/deploy/role_binding.yaml': ['RoleBinding', 'ClusterRoleBinding'],
  'operator/deploy/service_account.yaml': ['ServiceAccount'],
};
const CRD_DIR = 'operator/deploy/crds/';

interface Doc {
  readonly kind: string | undefined;
  readonly apiVersion: string | undefined;
}

/** Parses every document of a YAML stream; undefined + a problem when invalid. */
function parseDocs(rel: string, text: string, out: Problem[]): Doc[] | undefined {
  const docs = YAML.parseAllDocuments(text);
  const list = Array.isArray(docs) ? docs : [docs];
  const result: Doc[] = [];
  for (const d of list) {
    const first = d.errors[0];
    if (first !== undefined) {
      out.push(
        error(
          'yaml-invalid',
          rel,
          `invalid YAML: ${first.message.split('\n')[0] ?? ''}`,
          'fix the YAML syntax (yamllint shows the details)',
        ),
      );
      return undefined;
    }
    const js: unknown = d.toJS();
    if (js === null || js === undefined) continue;
    if (typeof js !== 'object' || Array.isArray(js)) {
      out.push(
        error(
          'yaml-invalid',
          rel,
          'a document is not a mapping',
          'each document must be a Kubernetes object with apiVersion and kind',
        ),
      );
      return undefined;
    }
    const o = js as Record<string, unknown>;
    result.push({
      kind: typeof o.kind === 'string' ? o.kind : undefined,
      apiVersion: typeof o.apiVersion === 'string' ? o.apiVersion : undefined,
    });
  }
  return result;
}

function checkKinds(
  rel: string,
  docs: readonly Doc[],
  allowed: readonly string[],
  code: 'operator-kind' | 'ui-kind',
): Problem[] {
  const out: Problem[] = [];
  if (docs.length === 0)
    out.push(
      error(code, rel, 'the file holds no Kubernetes object', `add a ${allowed.join(' or ')}`),
    );
  for (const d of docs) {
    if (d.apiVersion === undefined || d.kind === undefined) {
      out.push(error(code, rel, 'an object has no apiVersion or kind', 'set apiVersion and kind'));
    } else if (!allowed.includes(d.kind)) {
      out.push(
        error(
          code,
          rel,
          `kind ${d.kind} found, expected ${allowed.join(' or ')}`,
          `move the ${d.kind} to its own file; this file must hold ${allowed.join(' or ')}`,
        ),
      );
    } else if (d.kind.startsWith('Cluster')) {
      out.push(
        warning(
          code,
          rel,
          `${d.kind} grants cluster-scoped permissions`,
          'prefer namespace-scoped Role/RoleBinding (Solution Operator guidelines)',
        ),
      );
    }
  }
  return out;
}

/** Checks the parsed YAML texts of the shipped operator/ and ui/ files (rel path -> text). */
export function checkManifests(texts: ReadonlyMap<string, string>, hasUi: boolean): Problem[] {
  const out: Problem[] = [];
  const parsed = new Map<string, Doc[]>();
  for (const [rel, text] of [...texts].sort(([a], [b]) => a.localeCompare(b))) {
    const docs = parseDocs(rel, text, out);
    if (docs !== undefined) parsed.set(rel, docs);
  }
  for (const [rel, kinds] of Object.entries(OPERATOR_FILES)) {
    const docs = parsed.get(rel);
    if (!texts.has(rel)) {
      out.push(
        error(
          'operator-file-missing',
          rel,
          'required operator file is missing',
          `create ${rel} with a ${kinds.join(' or ')} (see \`metalk8s-solution init\`)`,
        ),
      );
    } else if (docs !== undefined) {
      out.push(...checkKinds(rel, docs, kinds, 'operator-kind'));
    }
  }
  const crds = [...texts.keys()].filter((r) => r.startsWith(CRD_DIR));
  if (crds.length === 0) {
    out.push(
      error(
        'operator-file-missing',
        CRD_DIR,
        'no CustomResourceDefinition file',
        `add one ${CRD_DIR}<name>_crd.yaml per CRD`,
      ),
    );
  }
  for (const rel of crds) {
    const docs = parsed.get(rel);
    if (docs === undefined || rel.endsWith('_cr.yaml')) continue;
    out.push(...checkKinds(rel, docs, ['CustomResourceDefinition'], 'operator-kind'));
    if (docs.length > 1)
      out.push(
        error(
          'operator-kind',
          rel,
          `${docs.length} objects in one CRD file`,
          'put one CustomResourceDefinition per file',
        ),
      );
  }
  if (hasUi) {
    const rel = 'ui/deployment.yaml';
    const docs = parsed.get(rel);
    if (!texts.has(rel))
      out.push(
        error(
          'operator-file-missing',
          rel,
          'the UI has no deployment.yaml',
          `create ${rel} with a Deployment, or remove ui/`,
        ),
      );
    else if (docs !== undefined)
      out.push(...checkKinds(rel, docs, ['Deployment', 'Service'], 'ui-kind'));
  }
  return out;
}
