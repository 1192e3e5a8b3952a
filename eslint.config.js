// @ts-check
import eslint from '@eslint/js';
import tseslint from 'typescript-eslint';

// eslint loads the default export of its config file; the one default export allowed.
// eslint-disable-next-line no-restricted-exports
export default tseslint.config(
  { ignores: ['node_modules/', '_build/', 'dist/', '**/*.js', '**/*.mjs', '!eslint.config.js'] },
  eslint.configs.recommended,
  ...tseslint.configs.strictTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true }],
      'no-restricted-exports': ['error', { restrictDefaultExports: { direct: true } }],
    },
  },
  // One HTTP layer (lib/http/get.ts): no global fetch in the buildchain.
  {
    files: ['buildchain/**/*.ts'],
    rules: {
      'no-restricted-globals': [
        'error',
        { name: 'fetch', message: 'HTTP goes through httpGet (buildchain/lib/http/get.ts).' },
      ],
    },
  },
  { files: ['eslint.config.js'], ...tseslint.configs.disableTypeChecked },
  // The import rules (dependency-cruiser reads a CommonJS config): linted, not type-checked.
  {
    files: ['.dependency-cruiser.cjs'],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: {
      ...tseslint.configs.disableTypeChecked.languageOptions,
      sourceType: 'commonjs',
      globals: { module: 'writable' },
    },
  },
);
