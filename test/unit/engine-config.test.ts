import { describe, expect, it } from 'vitest';
import { parseArgs } from '../../buildchain/cli/args.ts';
import { checkKnownKeys, parseEnvExample, parseEnvFile } from '../../buildchain/config/env.ts';
import { mkisofsArgv, resolveTools } from '../../buildchain/config/tools.ts';
import { UsageError } from '../../buildchain/engine/failures.ts';

describe('.env parsing', () => {
  it('reads known keys and defaults from .env.example, commented or not', () => {
    const known = parseEnvExample(
      '# Title\n# Some text: here\n#PROJECT_NAME=MetalK8s\n#SOURCE_DATE_EPOCH=\nBUILD_ROOT=_build\n',
    );
    expect([...known]).toEqual([
      ['PROJECT_NAME', 'MetalK8s'],
      ['SOURCE_DATE_EPOCH', ''],
      ['BUILD_ROOT', '_build'],
    ]);
  });
  it('parses export, quotes and inline comments', () => {
    const a = parseEnvFile(
      '# c\n\nexport A=1\nB="two words" # note\nC=\'$x\'\nD=plain # c\n',
      '.env',
    );
    expect(a.map((x) => [x.key, x.value, x.line])).toEqual([
      ['A', '1', 3],
      ['B', 'two words', 4],
      ['C', '$x', 5],
      ['D', 'plain', 6],
    ]);
  });
  it('rejects malformed lines and unknown keys naming file and line', () => {
    expect(() => parseEnvFile('A=1\nnot a line\n', '/p/.env')).toThrow('/p/.env:2: malformed line');
    expect(() => parseEnvFile('A="open\n', '.env')).toThrow('.env:1: unbalanced quotes');
    const err = (() => {
      try {
        checkKnownKeys(
          parseEnvFile('\nSKOPEO_BN=x\n', '.env'),
          new Map([['SKOPEO_BIN', 'skopeo']]),
          '.env',
        );
      } catch (e) {
        return e as UsageError;
      }
      return undefined;
    })();
    expect(err?.message).toBe('.env:2: unknown key SKOPEO_BN');
    expect(err?.hint).toContain('SKOPEO_BIN');
  });
});

describe('tools', () => {
  it('resolves *_BIN keys, mkisofs defaulting to xorriso -as mkisofs', () => {
    const tools = resolveTools({ SKOPEO_BIN: '/opt/skopeo', XORRISO_BIN: '' });
    expect(tools.skopeo).toMatchObject({ bin: '/opt/skopeo', envKey: 'SKOPEO_BIN' });
    expect(tools.mkisofs).toMatchObject({ bin: 'xorriso', envKey: 'MKISOFS_BIN' });
    expect(mkisofsArgv({ env: {}, tools })).toEqual(['xorriso', '-as', 'mkisofs']);
    const own = resolveTools({ MKISOFS_BIN: 'genisoimage' });
    expect(mkisofsArgv({ env: { MKISOFS_BIN: 'genisoimage' }, tools: own })).toEqual([
      'genisoimage',
    ]);
  });
});

describe('argv', () => {
  it('parses commands, options anywhere, and npm-style usage', () => {
    expect(parseArgs(['iso'])).toMatchObject({ command: 'run', tasks: ['iso'], workers: 1 });
    expect(parseArgs(['-n', '2', 'iso', '--keep-going'])).toMatchObject({
      workers: 2,
      keepGoing: true,
      tasks: ['iso'],
    });
    expect(parseArgs(['--workers=3', '-n4'])).toMatchObject({ workers: 4 });
    expect(parseArgs(['list', '--all', '--private'])).toMatchObject({
      command: 'list',
      all: true,
      private: true,
    });
    expect(parseArgs(['clean', '-n', 'iso'])).toMatchObject({
      command: 'clean',
      dryRun: true,
      tasks: ['iso'],
    });
    expect(parseArgs(['--reporter', 'json', '--json-log', 'x.json'])).toMatchObject({
      reporter: 'json',
      jsonLog: 'x.json',
    });
    expect(parseArgs(['images', 'list'])).toMatchObject({
      command: 'run',
      tasks: ['images', 'list'],
    });
  });
  it('rejects bad usage', () => {
    expect(() => parseArgs(['-n', '0'])).toThrow('positive integer');
    expect(() => parseArgs(['--nope'])).toThrow('unknown option --nope');
    expect(() => parseArgs(['info'])).toThrow('exactly one task');
    expect(() => parseArgs(['--reporter', 'xml'])).toThrow('console or json');
  });
});
