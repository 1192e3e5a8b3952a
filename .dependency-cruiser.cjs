/**
 * Import rules of the buildchain (issue 12), checked by `npm run lint` and the build's
 * `lint:ts` task: no cycles; layers import downwards only
 * (cli → tasks/<domain> → media, sources → config → engine → lib); a domain reaches another
 * domain only through that domain's `index.ts`; only the runner (engine/exec/) spawns processes.
 * test/ and bench/ are not cruised.
 */
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'A cycle of imports (type-only imports included) ties the files into one unit.',
      from: {},
      to: { circular: true },
    },
    {
      name: 'lib-imports-nothing',
      severity: 'error',
      comment: 'lib/ is the bottom layer: it imports nothing from the project.',
      from: { path: '^buildchain/lib/' },
      to: { path: '^buildchain/', pathNot: '^buildchain/lib/' },
    },
    {
      name: 'engine-imports-only-lib',
      severity: 'error',
      comment: 'The engine knows nothing about ISOs: it imports only lib/.',
      from: { path: '^buildchain/engine/' },
      to: { path: '^buildchain/', pathNot: '^buildchain/(engine|lib)/' },
    },
    {
      name: 'config-imports-only-engine-lib',
      severity: 'error',
      comment: 'config/ imports only engine/ and lib/.',
      from: { path: '^buildchain/config/' },
      to: { path: '^buildchain/', pathNot: '^buildchain/(config|engine|lib)/' },
    },
    {
      name: 'media-sources-import-only-lower-layers',
      severity: 'error',
      comment: 'media/ and sources/ import only config/, engine/, lib/ and their own files.',
      from: { path: '^buildchain/(media|sources)/' },
      to: {
        path: '^buildchain/',
        pathNot: ['^buildchain/$1/', '^buildchain/(config|engine|lib)/'],
      },
    },
    {
      name: 'tasks-not-cli',
      severity: 'error',
      comment: 'Task domains never import the CLI.',
      from: { path: '^buildchain/tasks/' },
      to: { path: '^buildchain/cli/' },
    },
    {
      name: 'domain-via-index-only',
      severity: 'error',
      comment:
        "A domain imports another domain only through that domain's index.ts (its public API, " +
        'kept narrow: a function action hashes the code it imports).',
      from: { path: '^buildchain/tasks/([^/]+)/' },
      to: {
        path: '^buildchain/tasks/[^/]+/',
        pathNot: ['^buildchain/tasks/$1/', '^buildchain/tasks/[^/]+/index\\.ts$'],
      },
    },
    {
      name: 'tasks-index-wires-factories',
      severity: 'error',
      comment:
        "tasks/index.ts wires the domains: each domain's factory (tasks.ts) or its index.ts only.",
      from: { path: '^buildchain/tasks/index\\.ts$' },
      to: {
        path: '^buildchain/tasks/[^/]+/',
        pathNot: '^buildchain/tasks/[^/]+/(index|tasks)\\.ts$',
      },
    },
    {
      name: 'spawn-only-in-runner',
      severity: 'error',
      comment:
        'Processes start only through engine/exec/ (time limits, process groups, stderr tails): ' +
        'no node:child_process or execa elsewhere.',
      from: { path: '^buildchain/', pathNot: '^buildchain/engine/exec/' },
      to: {
        path: [
          '^(node:)?child_process$',
          '(^|/)node_modules/execa/',
          '^buildchain/engine/exec/lazy-execa\\.ts$',
        ],
      },
    },
    {
      name: 'http-only-in-lib-http',
      severity: 'error',
      comment:
        'HTTP requests go through the one HTTP layer (lib/http/get.ts: keep-alive agents, ' +
        'redirects, connect and idle timeouts, abort).',
      from: { path: '^buildchain/', pathNot: '^buildchain/lib/http/' },
      to: {
        path: ['^(node:)?https?$', '^(node:)?http2$', '^undici(/|$)', '(^|/)node_modules/undici/'],
      },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    exclude: { path: '^(node_modules|_build)/' },
  },
};
