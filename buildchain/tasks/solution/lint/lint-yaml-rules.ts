/** Lint rules on the operator and UI manifests: YAML validity and expected kinds. Pure. */
import YAML from 'yaml';
import { error, warning, type Problem } from './problems.ts';
import { renderUiJinja, type UiJinjaConstruct, type UiJinjaResult } from './ui-jinja.ts';
import {
  checkContract,
  isAppliedCrdPath,
  OPERATOR_FILES,
  UI_FILES,
  type Doc,
} from './contract-rules.ts';

export { OPERATOR_FILES };

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
      object: o,
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

/**
 * A ui/ file as 2.4 reads it, for YAML parsing: the build replaces `@VERSION@` and
 * `@REPOSITORY@`, then 2.4 renders the file with Jinja (`{{ repository }}`, comments, raw
 * blocks: ui-jinja.ts), so both may stand unquoted where YAML would refuse them (a plain
 * scalar cannot start with `@` or `{`). Other Jinja is returned as `unknown`.
 */
function asRenderedUi(text: string): UiJinjaResult {
  return renderUiJinja(
    text.replaceAll('@REPOSITORY@', '{{ repository }}').replaceAll('@VERSION@', 'version'),
  );
}

/** One error per Jinja construct of an applied ui/ file that lint cannot render. */
function uiJinjaProblems(rel: string, unknown: readonly UiJinjaConstruct[]): Problem[] {
  return unknown.map((c) =>
    error(
      'ui-jinja',
      rel,
      c.kind === 'unclosed'
        ? `line ${String(c.line)}: ${c.text} is never closed: MetalK8s 2.4 renders this file with Jinja at import, which fails`
        : `line ${String(c.line)}: Jinja ${c.kind} ${c.text}: MetalK8s 2.4 renders this file at import and this toolkit gives it only {{ repository }}, so the YAML it would apply cannot be known or checked`,
      'use only {{ repository }} (or @REPOSITORY@, @VERSION@); put text that must stay as written inside {% raw %}…{% endraw %}',
    ),
  );
}

/** The text to parse as YAML (undefined: not parseable as 2.4 would see it), and problems. */
function yamlTextOf(rel: string, text: string, out: Problem[]): string | undefined {
  if (!rel.startsWith('ui/')) return text;
  const rendered = asRenderedUi(text);
  // Only the applied files are rendered by 2.4; the others are shipped as they are.
  if (rendered.unknown.length > 0 && rel in UI_FILES) {
    out.push(...uiJinjaProblems(rel, rendered.unknown));
    return undefined;
  }
  return rendered.text;
}

/**
 * Checks the YAML texts of the shipped operator/ and ui/ files (rel path -> text): validity,
 * the files and kinds 2.4's import applies (contract-rules.ts), one CRD per file.
 */
export function checkManifests(texts: ReadonlyMap<string, string>): Problem[] {
  const out: Problem[] = [];
  const parsed = new Map<string, Doc[]>();
  for (const [rel, text] of [...texts].sort(([a], [b]) => a.localeCompare(b))) {
    const yamlText = yamlTextOf(rel, text, out);
    const docs = yamlText === undefined ? undefined : parseDocs(rel, yamlText, out);
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
  for (const rel of [...texts.keys()].filter(isAppliedCrdPath)) {
    const docs = parsed.get(rel);
    if (docs === undefined) continue;
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
  for (const [rel, kinds] of Object.entries(UI_FILES)) {
    const docs = parsed.get(rel);
    if (!texts.has(rel)) {
      out.push(
        error(
          'ui-file-missing',
          rel,
          `missing: 2.4's import applies ui/deployment.yaml and ui/service.yaml of every Solution`,
          `create ${rel} with a ${kinds.join(' or ')} (see \`metalk8s-solution init\`)`,
        ),
      );
    } else if (docs !== undefined) {
      out.push(...checkKinds(rel, docs, kinds, 'ui-kind'));
    }
  }
  out.push(...checkContract(texts, parsed));
  return out;
}
