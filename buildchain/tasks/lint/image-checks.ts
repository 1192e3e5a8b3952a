/**
 * Checks of the image list (lint:content). Grammar, duplicates and kinds come from the
 * loader's pure validator (`validateImageList`); this adds what a build only meets later:
 * remote images pinned by digest (or explicitly allowed unpinned, as a visible warning) and
 * local images whose build context and Containerfile/Dockerfile exist. Every finding carries
 * the line of its entry. Pure: file existence is asked through `exists`.
 *
 * An entry may be left unpinned on purpose: a comment right above it starting with
 * `Unpinned:` and giving the reason turns the error into a warning that shows the reason.
 */
import { LineCounter, parseDocument, isMap, isSeq } from 'yaml';
import { validateImageList } from '../../config/images.ts';
import type { ImageEntry } from '../../config/content-types.ts';
import type { LintFinding } from './findings.ts';

/** Options for {@link checkImageList}. */
export interface ImageCheckOptions {
  /** The list file relative to the project root, for findings. */
  readonly file: string;
  /** ALLOW_UNPINNED_IMAGES: unpinned remote images are warnings instead of errors. */
  readonly allowUnpinned: boolean;
  /** True when a path relative to the project root exists. */
  readonly exists: (relPath: string) => boolean;
}

interface EntryMeta {
  /** 1-based line of the entry, 0 when unknown. */
  readonly line: number;
  /** Reason from an `# Unpinned: ...` comment right above the entry. */
  readonly unpinnedReason: string | undefined;
}

const UNPINNED_COMMENT = /^\s*Unpinned:\s*([\s\S]+)$/;

/** Line and `Unpinned:` reason of each `images[i]` entry of the document. */
function entryMeta(doc: ReturnType<typeof parseDocument>, lc: LineCounter): EntryMeta[] {
  const images = isMap(doc.contents) ? doc.contents.get('images', true) : undefined;
  if (!isSeq(images)) return [];
  return images.items.map((item) => {
    const node = item as { range?: [number, number, number]; commentBefore?: string | null };
    const start = node.range?.[0];
    const m = UNPINNED_COMMENT.exec(node.commentBefore ?? '');
    return {
      line: start === undefined ? 0 : lc.linePos(start).line,
      unpinnedReason: m?.[1]?.replace(/\s*\n\s*/g, ' ').trim(),
    };
  });
}

/** Checks the text of the image list; returns one finding per problem. */
export function checkImageList(text: string, opts: ImageCheckOptions): LintFinding[] {
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc });
  if (doc.errors.length > 0) {
    return doc.errors.map((e) => ({
      file: opts.file,
      line: e.linePos?.[0].line ?? 1,
      severity: 'error' as const,
      rule: 'yaml-syntax',
      message: e.message.split('\n')[0] ?? e.message,
    }));
  }
  const meta = entryMeta(doc, lc);
  const lineOf = (index: number | undefined): { line?: number } => {
    const line = index === undefined ? undefined : meta[index]?.line;
    return line === undefined || line === 0 ? {} : { line };
  };
  const { entries, problems } = validateImageList(doc.toJS(), opts.file);
  const findings: LintFinding[] = problems.map((p) => {
    const m = /images\[(\d+)\]/.exec(p);
    const message = p.startsWith(`${opts.file}: `) ? p.slice(opts.file.length + 2) : p;
    return {
      file: opts.file,
      ...lineOf(m ? Number(m[1]) : undefined),
      severity: 'error',
      rule: 'image-list',
      message,
    };
  });
  const indexByRef = new Map<string, number>();
  const raw = doc.toJS() as { images?: { name?: unknown; version?: unknown }[] };
  (raw.images ?? []).forEach((e, i) => {
    indexByRef.set(`${String(e.name)}:${String(e.version)}`, i);
  });
  for (const entry of entries) {
    const index = indexByRef.get(`${entry.name}:${entry.version}`);
    const at = { file: opts.file, ...lineOf(index) };
    const reason = index === undefined ? undefined : meta[index]?.unpinnedReason;
    findings.push(...checkEntry(entry, opts, reason).map((f) => ({ ...at, ...f })));
  }
  return findings;
}

type EntryFinding = Pick<LintFinding, 'severity' | 'rule' | 'message'>;

function checkEntry(
  image: ImageEntry,
  opts: ImageCheckOptions,
  unpinnedReason: string | undefined,
): EntryFinding[] {
  const ref = `${image.name}:${image.version}`;
  if (image.source !== undefined) {
    if (image.digest !== undefined) return [];
    const where = `${ref} (${image.source.registry}/${image.source.repository})`;
    if (unpinnedReason !== undefined) {
      return [
        {
          severity: 'warning',
          rule: 'image-unpinned',
          message: `${where} is not pinned by digest (explicitly allowed: ${unpinnedReason})`,
        },
      ];
    }
    return opts.allowUnpinned
      ? [
          {
            severity: 'warning',
            rule: 'image-unpinned',
            message: `${where} is not pinned by digest (allowed by ALLOW_UNPINNED_IMAGES=true; not for releases)`,
          },
        ]
      : [
          {
            severity: 'error',
            rule: 'image-unpinned',
            message: `${where} is not pinned by digest; add "digest: sha256:..." (npm run build images:lock) or set ALLOW_UNPINNED_IMAGES=true for a dev build`,
          },
        ];
  }
  const build = image.build;
  if (build === undefined)
    return [
      {
        severity: 'error',
        rule: 'image-build',
        message: `${ref}: local image without a build context`,
      },
    ];
  const context = build.context.replace(/\/+$/, '');
  if (!opts.exists(context)) {
    return [
      {
        severity: 'error',
        rule: 'image-build',
        message: `${ref}: build context "${context}" does not exist`,
      },
    ];
  }
  const candidates = build.file !== undefined ? [build.file] : ['Containerfile', 'Dockerfile'];
  if (candidates.some((c) => opts.exists(`${context}/${c}`))) return [];
  return [
    {
      severity: 'error',
      rule: 'image-build',
      message: `${ref}: build context "${context}" has no ${candidates.join(' or ')}`,
    },
  ];
}
