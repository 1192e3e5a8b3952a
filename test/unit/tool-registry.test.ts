/** The tool registry holds only tools the buildchain runs; .env.example keeps the documented keys. */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseEnvExample, parseEnvFile, checkKnownKeys } from '../../buildchain/config/env.ts';
import { TOOL_REGISTRY } from '../../buildchain/config/tools.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const known = parseEnvExample(readFileSync(path.join(ROOT, '.env.example'), 'utf8'));

/** `*_BIN` keys the MetalK8s 2.4 documentation names: accepted in .env even when unused. */
const DOCUMENTED = [
  'DOCKER_BIN',
  'GIT_BIN',
  'GOFMT_BIN',
  'HARDLINK_BIN',
  'MKISOFS_BIN',
  'OPERATOR_SDK_BIN',
  'SKOPEO_BIN',
  'VAGRANT_BIN',
];
/** Documented keys no task uses. */
const UNUSED = ['GOFMT_BIN', 'HARDLINK_BIN', 'OPERATOR_SDK_BIN'];

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return sources(p);
    return e.name.endsWith('.ts') ? [p] : [];
  });
}

describe('tool registry', () => {
  it('every tool is named by a task or read from config.tools', () => {
    const code = sources(path.join(ROOT, 'buildchain'))
      .filter((f) => !f.endsWith(path.join('config', 'tools.ts')))
      .map((f) => readFileSync(f, 'utf8'))
      .join('\n');
    for (const name of Object.keys(TOOL_REGISTRY)) {
      const used = code.includes(`'${name}'`) || new RegExp(`tools\\??\\.${name}\\b`).test(code);
      expect(used, name).toBe(true);
    }
  });

  it('every tool key is in .env.example, and every *_BIN key there is a tool or documented', () => {
    for (const entry of Object.values(TOOL_REGISTRY))
      expect(known.has(entry.envKey), entry.envKey).toBe(true);
    const toolKeys = new Set(Object.values(TOOL_REGISTRY).map((e) => e.envKey));
    const bins = [...known.keys()].filter((k) => k.endsWith('_BIN') && k !== 'SSH_KEYGEN_BIN');
    expect(bins.filter((k) => !toolKeys.has(k)).sort()).toEqual(UNUSED);
  });

  it('accepts the documented keys in .env and says which are unused', () => {
    const env = DOCUMENTED.map((k) => `${k}=x`).join('\n');
    expect(() => {
      checkKnownKeys(parseEnvFile(env, '.env'), known, '.env');
    }).not.toThrow();
    const example = readFileSync(path.join(ROOT, '.env.example'), 'utf8');
    expect(example).toMatch(
      /# Accepted for compatibility with the 2\.4 docs; unused[^\n]*\n#HARDLINK_BIN=hardlink\n#OPERATOR_SDK_BIN=operator-sdk\n#GOFMT_BIN=gofmt\n/,
    );
  });

  it('rejects the keys of removed tools (7-Zip, umoci, implantisomd5)', () => {
    for (const key of ['SEVENZIP_BIN', 'UMOCI_BIN', 'IMPLANTISOMD5_BIN']) {
      expect(() => {
        checkKnownKeys(parseEnvFile(`${key}=x`, '.env'), known, '.env');
      }, key).toThrow(`.env:1: unknown key ${key}`);
    }
  });
});
