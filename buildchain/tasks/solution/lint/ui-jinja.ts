/**
 * The Jinja of a ui/ file, as MetalK8s 2.4's import renders it (Salt `template: jinja`) before
 * applying the file as Kubernetes objects. The only value this toolkit hands it is
 * `repository` (the build writes `{{ repository }}` for `@REPOSITORY@`), so lint renders what
 * it can know and names everything else. Pure.
 *
 * - `{{ repository }}` (any spacing, `-` whitespace control): the archive prefix, read as a
 *   plain YAML scalar stand-in (image-ref.ts maps it back);
 * - `{# … #}`: a comment, removed;
 * - `-` whitespace control (`{{-`, `-%}`, …) strips the whitespace before or after, as Jinja;
 * - `{% raw %}…{% endraw %}`: its content is text, kept as it is;
 * - anything else (`{{ replicas }}`, `{% if … %}`, an unclosed delimiter): what it renders to is
 *   unknown here, so it is reported with its line instead of passing for invalid YAML.
 */
import { REPOSITORY_STAND_IN } from './image-ref.ts';

/** A Jinja construct lint cannot render. */
export interface UiJinjaConstruct {
  /** 1-based line of its opening delimiter. */
  readonly line: number;
  /** The construct as written (cut at 60 characters), or its opening delimiter when unclosed. */
  readonly text: string;
  readonly kind: 'expression' | 'statement' | 'unclosed';
}

/** Result of {@link renderUiJinja}. */
export interface UiJinjaResult {
  /** The text with what could be rendered rendered; unknown constructs left as written. */
  readonly text: string;
  readonly unknown: readonly UiJinjaConstruct[];
}

const OPEN = /\{[{%#]/g;
const CLOSE: Readonly<Record<string, string>> = { '{{': '}}', '{%': '%}', '{#': '#}' };
const REPOSITORY = /^\{\{[-+]?\s*repository\s*[-+]?\}\}$/;
const RAW = /^\{%[-+]?\s*raw\s*[-+]?%\}$/;
const END_RAW = /\{%[-+]?\s*endraw\s*[-+]?%\}/g;

function lineAt(text: string, index: number): number {
  let n = 1;
  for (let i = text.indexOf('\n'); i >= 0 && i < index; i = text.indexOf('\n', i + 1)) n++;
  return n;
}

function shown(construct: string): string {
  const flat = construct.replace(/\s+/g, ' ');
  return flat.length > 60 ? `${flat.slice(0, 57)}...` : flat;
}

/** Whitespace control: `{{-` strips the whitespace before, `-}}` the whitespace after. */
function trims(construct: string): { before: boolean; after: boolean } {
  return {
    before: construct.charAt(2) === '-',
    after: construct.charAt(construct.length - 3) === '-',
  };
}

/** Renders the Jinja of a ui/ file as far as lint knows it (see the module comment). */
export function renderUiJinja(text: string): UiJinjaResult {
  let out = '';
  const unknown: UiJinjaConstruct[] = [];
  let at = 0;
  let trimNext = false;
  const emit = (piece: string): void => {
    out += trimNext ? piece.trimStart() : piece;
    trimNext = false;
  };
  OPEN.lastIndex = 0;
  for (let m = OPEN.exec(text); m !== null; m = OPEN.exec(text)) {
    const open = m[0];
    const start = m.index;
    const end = text.indexOf(CLOSE[open] ?? '', start + 2);
    emit(text.slice(at, start));
    if (end < 0) {
      unknown.push({ line: lineAt(text, start), text: open, kind: 'unclosed' });
      at = start;
      break;
    }
    const construct = text.slice(start, end + 2);
    const trim = trims(construct);
    at = end + 2;
    let rendered: string;
    if (open === '{#') {
      rendered = '';
    } else if (REPOSITORY.test(construct)) {
      rendered = REPOSITORY_STAND_IN;
    } else if (RAW.test(construct)) {
      END_RAW.lastIndex = at;
      const close = END_RAW.exec(text);
      if (close === null) {
        unknown.push({ line: lineAt(text, start), text: shown(construct), kind: 'unclosed' });
        at = start;
        break;
      }
      const body = text.slice(at, close.index);
      const bodyTrim = { start: trim.after, end: trims(close[0]).before };
      rendered = bodyTrim.start ? body.trimStart() : body;
      rendered = bodyTrim.end ? rendered.trimEnd() : rendered;
      trim.after = trims(close[0]).after;
      at = close.index + close[0].length;
    } else {
      const kind = open === '{{' ? 'expression' : 'statement';
      unknown.push({ line: lineAt(text, start), text: shown(construct), kind });
      // Left as written, with no whitespace control: lint does not parse such a file.
      out += construct;
      OPEN.lastIndex = at;
      continue;
    }
    if (trim.before) out = out.trimEnd();
    out += rendered;
    trimNext = trim.after;
    OPEN.lastIndex = at;
  }
  emit(text.slice(at));
  return { text: out, unknown };
}
