/**
 * Issue 16, no interpolation into another language: every value a generator writes into an
 * nginx config, an RPM spec or macro, a shell word or a template is quoted in that language or
 * refused with a clear error (TaskError invalid-input naming the value, with a fix). Pure:
 * property-based (fast-check) over hostile names and paths, plus the reported cases.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { TaskError } from '../../buildchain/engine/task.ts';
import {
  nginxString,
  regexEscape,
  rpmMacroEscape,
  requireRpmPath,
  shellQuote,
} from '../../buildchain/lib/text/quote.ts';
import { standInContext } from '../../buildchain/tasks/images/builder-args.ts';
import { generateRegistryConfig } from '../../buildchain/tasks/images/nginx-registry-config.ts';
import { registryNaming } from '../../buildchain/tasks/images/write-registry-config.ts';
import { renderTemplate } from '../../buildchain/lib/text/at-template.ts';
import { renderProductTxt as renderIsoProduct } from '../../buildchain/media/product-txt.ts';
import { parseVersion } from '../../buildchain/config/version.ts';
import {
  rpmbuildArgs as standInArgs,
  standInSpec,
} from '../../buildchain/sources/embedded/stand-in-rpm.ts';
import { rpmbuildArgs } from '../../buildchain/tasks/packages/rpmbuild-args.ts';
import {
  isValidSemverRange,
  renderProductTxt,
} from '../../buildchain/tasks/solution/build/product.ts';
import { renderRegistryConfig } from '../../buildchain/tasks/solution/build/registry-config.ts';
import {
  isClearRefusal,
  messy,
  nameLike,
  prefixLike,
  rootLike,
  tagLike,
  registryConfigArgs,
  registryConfigOrRefusal,
} from '../helpers/hostile-values.ts';
import { nginxDirectives, nginxLocations } from '../helpers/nginx-tokens.ts';

const RUNS = 300;
const ISSUE_PATH = '/tmp/x/{{";} location ~ ^/injected { return 200 "injected"; } y}}';

/** Decodes one POSIX shell word made of bare characters and '...' (what shellQuote writes). */
function shellWord(word: string): string {
  let out = '';
  for (let i = 0; i < word.length;) {
    if (word.charAt(i) === "'") {
      const end = word.indexOf("'", i + 1);
      out += word.slice(i + 1, end);
      i = end + 1;
    } else if (word.charAt(i) === '\\') {
      out += word.charAt(i + 1);
      i += 2;
    } else {
      if (!/[A-Za-z0-9._,:+@%/=-]/.test(word.charAt(i)))
        throw new Error(`unquoted ${word.charAt(i)}`);
      out += word.charAt(i);
      i += 1;
    }
  }
  return out;
}

function refusal(fn: () => unknown): TaskError {
  try {
    fn();
  } catch (err) {
    if (err instanceof TaskError) return err;
    throw err;
  }
  throw new Error('expected a refusal');
}

describe('quoting primitives (properties)', () => {
  it('nginxString: the string nginx reads back is the value, or the value is refused by name', () => {
    fc.assert(
      fc.property(messy, fc.constantFrom('"' as const, "'" as const), (value, quote) => {
        let quoted: string;
        try {
          quoted = nginxString(value, 'the value', 'fix it', quote);
        } catch (err) {
          expect(isClearRefusal(err, ['the value'])).toBe(true);
          expect(/[$\p{Cc}\u2028\u2029\ud800-\udfff]/u.test(value)).toBe(true);
          return;
        }
        expect(nginxDirectives(`x ${quoted};`)).toEqual([
          { words: ['x', value], end: ';', depth: 0 },
        ]);
      }),
      { numRuns: RUNS },
    );
  });

  it('shellQuote: sh reads one word back, equal to the value', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: 'binary', maxLength: 12 }).filter((s) => !s.includes('\0')),
        (value) => {
          expect(shellWord(shellQuote(value))).toBe(value);
        },
      ),
      { numRuns: RUNS },
    );
  });

  it('rpmMacroEscape doubles every %; requireRpmPath accepts no shell or macro character', () => {
    fc.assert(
      fc.property(messy, (value) => {
        try {
          const escaped = rpmMacroEscape(value, 'text', 'fix');
          expect(escaped.replace(/%%/g, '')).not.toContain('%');
        } catch (err) {
          expect(isClearRefusal(err, ['text'])).toBe(true);
        }
        try {
          requireRpmPath(value, 'the path', 'fix');
          expect(value).not.toMatch(/[\s"'`$%\\;&|<>(){}[\]*?!#~]/);
        } catch (err) {
          expect(isClearRefusal(err, ['the path'])).toBe(true);
        }
      }),
      { numRuns: RUNS },
    );
  });

  it('regexEscape: a valid name matches itself only (no dot matches another character)', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[a-z0-9]{1,4}(?:[._-][a-z0-9]{1,4}){1,3}$/), (name) => {
        const re = new RegExp(`^${regexEscape(name)}$`);
        expect(re.test(name)).toBe(true);
        expect(re.test(name.replace('.', 'x'))).toBe(name.includes('.') ? false : true);
      }),
      { numRuns: RUNS },
    );
  });
});

describe('nginx registry configs (properties)', () => {
  it('images generator: refused by name, or exactly the expected locations and aliases', () => {
    fc.assert(
      fc.property(registryConfigArgs, (args) => {
        const conf = registryConfigOrRefusal(args);
        if (conf === undefined) return;
        const [repos, , root] = args;
        const base = `${root.replace(/\/+$/, '')}/`;
        const aliases = nginxDirectives(conf)
          .filter((d) => d.words[0] === 'alias')
          .map((d) => d.words[1]);
        const expected = repos.flatMap((r) => [
          ...new Set(r.tags.map((t) => `${base}${r.name}/${t.tag}/`)),
          `${base}${r.name}/`,
        ]);
        expect(new Set(aliases)).toEqual(new Set(expected));
      }),
      { numRuns: RUNS },
    );
  });

  it('Solution generator (unquoted reference format): refused by name, or only the expected locations', () => {
    const hex = 'a'.repeat(64);
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.record({ name: nameLike, tag: tagLike }), {
          selector: (i) => `${i.name}:${i.tag}`,
          maxLength: 4,
        }),
        fc.oneof(fc.constant('{{ repository }}'), prefixLike),
        fc.oneof(fc.constant('{{ registry_root }}'), rootLike),
        (images, prefix, root) => {
          let conf: string;
          try {
            conf = renderRegistryConfig(
              images.map((i) => ({ ...i, manifestHex: hex })),
              { namePrefix: prefix, serverRoot: root },
            );
          } catch (err) {
            expect(
              isClearRefusal(err, ['image name', 'tag of', 'name prefix', 'server root']),
            ).toBe(true);
            return;
          }
          // MetalK8s renders the Jinja pieces first (repository, registry_root) with plain values.
          const jinja = (t: string): string =>
            t.replace(/\{\{ *([\w.]+) *\}\}/g, (_m, n: string) =>
              n === 'repository' ? 'sol-1.0.0' : '/srv/root',
            );
          const rendered = jinja(conf);
          const names = new Set(images.map((i) => i.name));
          // Per name: tags/list, the blob pattern, the unknown-manifest pattern, one digest
          // location; per tag one location.
          expect(nginxLocations(rendered)).toHaveLength(names.size * 4 + images.length);
          for (const d of nginxDirectives(rendered).filter((x) => x.words[0] === 'alias')) {
            expect(d.words).toHaveLength(2);
            expect(d.words[1]?.startsWith(`${jinja(root)}/`)).toBe(true);
          }
        },
      ),
      { numRuns: RUNS },
    );
  });
});

describe('RPM specs and macros (properties)', () => {
  it('stand-in specs: refused by name, or the NVR as written and no macro but the sections', () => {
    fc.assert(
      fc.property(nameLike, tagLike, tagLike, (name, version, release) => {
        let spec: string;
        try {
          spec = standInSpec({ name, version, release });
        } catch (err) {
          expect(isClearRefusal(err, ['stand-in RPM name', 'version of', 'release of'])).toBe(true);
          return;
        }
        expect(spec.split('\n').find((l) => l.startsWith('Name:'))).toBe(`Name:           ${name}`);
        const macros = spec.replace(/%%/g, '').match(/%\S*/g) ?? [];
        expect(macros).toEqual(['%description', '%prep', '%build', '%install', '%files']);
      }),
      { numRuns: RUNS },
    );
  });

  it('rpmbuild topdirs and macro values: refused by name when rpm would run or expand them', () => {
    fc.assert(
      fc.property(rootLike, messy, (topdir, dist) => {
        try {
          standInArgs(topdir, `${topdir}/SPECS/x.spec`);
          expect(topdir).toMatch(/^[\p{L}\p{N}\p{M}._+,:@=/-]+$/u);
        } catch (err) {
          expect(isClearRefusal(err, ['rpmbuild topdir'])).toBe(true);
        }
        try {
          const args = rpmbuildArgs({
            bin: 'rpmbuild',
            topdir: '/t',
            topdirInArgv: '/t',
            mode: 'srpm',
            input: 'SPECS/x.spec',
            defines: { dist },
            nodeps: true,
          });
          expect(args).toContain(`dist ${dist}`);
          expect(dist).not.toMatch(/[%\p{Cc}]/u);
        } catch (err) {
          expect(isClearRefusal(err, ['rpm macro dist'])).toBe(true);
        }
      }),
      { numRuns: RUNS },
    );
  });
});

describe('reported cases', () => {
  const repos = [
    {
      name: 'app',
      tags: [
        {
          tag: '1.0',
          manifest: {
            digest: `sha256:${'b'.repeat(64)}`,
            mediaType: 'application/vnd.docker.distribution.manifest.v2+json',
            file: 'manifest.json',
          },
          instances: [],
        },
      ],
    },
  ];

  it('a server root holding the injection of the issue is refused (it was served as a location)', () => {
    const err = refusal(() => generateRegistryConfig({ repos, serverRoot: ISSUE_PATH }));
    expect(err.message).toContain('server root');
    expect(err.message).toContain('injected');
  });

  it('a ; in BUILD_ROOT never reaches the stand-in spec build (it ran a command)', () => {
    const err = refusal(() => standInArgs('/tmp/x;id>/tmp/PWNED;y/mirror/work/p-1-1', '/s.spec'));
    expect(err.message).toMatch(/^rpmbuild topdir ".*" holds ';'/);
    expect(err.hint).toContain('BUILD_ROOT');
    expect(() => standInSpec({ name: "p'; touch x; '", version: '1', release: '1' })).toThrow(
      'stand-in RPM name',
    );
  });

  it('a % in a macro value is refused (%(cmd) runs a command)', () => {
    const args = {
      bin: 'rpmbuild',
      topdir: '/t',
      topdirInArgv: '/t',
      mode: 'srpm' as const,
      input: 'SPECS/x.spec',
      nodeps: true,
    };
    expect(() => rpmbuildArgs({ ...args, defines: { dist: '.el7%(touch /tmp/PWNED)' } })).toThrow(
      "holds '%'",
    );
    expect(() => rpmbuildArgs({ ...args, topdirInArgv: '/a b/t' })).toThrow('rpmbuild topdir');
  });

  it('placeholders, product.txt and registry naming refuse what their language cannot carry', () => {
    expect(() =>
      renderTemplate('VERSION=@@VERSION', { VERSION: '1.0;rm -rf ~' }, 'x.sh.in'),
    ).toThrow('@@VERSION in x.sh.in');
    expect(renderTemplate('VERSION=@@VERSION', { VERSION: '2.4.0-beta1' }, 'x.sh.in')).toBe(
      'VERSION=2.4.0-beta1',
    );
    expect(() => registryNaming('Metal K8s', '2.4.0')).toThrow(
      /^PROJECT_NAME="Metal K8s" gives the registry name prefix/,
    );
    expect(isValidSemverRange('>=2.4.0\n<3.0.0')).toBe(false);
    expect(isValidSemverRange('>=2.4.0 <3.0.0')).toBe(true);
    const product = {
      name: 'App',
      version: '1.0.0',
      requireMetalK8s: '>=2.4.0"; touch x; "',
      archiveLayoutVersion: 1,
      git: '',
      buildTimestamp: '2023-11-14T22:13:20Z',
    };
    expect(() => renderProductTxt(product)).toThrow('REQUIRE_METALK8S');
    const version = {
      ...parseVersion('VERSION_MAJOR=1\nVERSION_MINOR=0\nVERSION_PATCH=0\nVERSION_SUFFIX=\n'),
      full: '1.0.0;id',
    };
    expect(() =>
      renderIsoProduct({ name: 'M', version, git: '', epoch: 0, buildHost: 'h', sources: 'site' }),
    ).toThrow('product.txt VERSION');
  });

  it('stand-in Containerfiles take only names and tags of the distribution grammar', () => {
    expect(() => standInContext('app', '1.0"\nRUN touch /tmp/PWNED')).toThrow(
      'version of image app',
    );
    expect(() => standInContext('a$b', '1.0')).toThrow('image name');
    expect(standInContext('app', '1.0').Containerfile).toContain(
      'org.opencontainers.image.version="1.0"',
    );
  });

  it('Solution registry config: an unquoted root with a space or ; is refused', () => {
    const image = { name: 'app', tag: '1.0', manifestHex: 'c'.repeat(64) };
    expect(() => renderRegistryConfig([image], { namePrefix: '', serverRoot: '/srv x;' })).toThrow(
      'server root "/srv x;" holds a space',
    );
    expect(() =>
      renderRegistryConfig([{ ...image, name: 'a;b' }], { namePrefix: '', serverRoot: '/srv' }),
    ).toThrow('image name');
  });
});
