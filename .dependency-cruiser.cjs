/**
 * The layering ARCHITECTURE.md describes, checked by `npm run lint:deps` (part of `npm test`).
 *
 *   src/contracts, src/lib, src/errors   bottom: shapes and small helpers, import nothing above
 *   machines/                            XState machines: only the bottom layer (and xstate)
 *   src/crypto, src/logging, src/config, shared services: no process, no action bundle, no CLI
 *   src/tracing
 *   src/actions                          action bundles: no process, no machine, no CLI
 *   src/control-plane, src/runner,       processes: never import each other (the CLI starts them)
 *   workers/
 *   src/cli                              top: may import anything
 */
const PROCESSES = ['^src/control-plane/', '^src/runner/', '^workers/'];
const BOTTOM = '^src/(contracts|lib|errors)/';

module.exports = {
  forbidden: [
    {
      name: 'bottom-layer-imports-only-bottom',
      comment: 'src/contracts, src/lib and src/errors sit at the bottom: they import only each other and npm packages.',
      severity: 'error',
      from: { path: BOTTOM },
      to: { path: '^(src|machines|workers)/', pathNot: BOTTOM },
    },
    {
      name: 'machines-import-only-bottom',
      comment: 'A machine holds no I/O: it imports xstate and the bottom layer, nothing else of ours.',
      severity: 'error',
      from: { path: '^machines/' },
      to: { path: '^(src|workers)/', pathNot: BOTTOM },
    },
    {
      name: 'shared-services-import-no-process',
      comment:
        'src/crypto, src/logging, src/config and src/tracing serve every process; they import no process, action bundle, machine or CLI.',
      severity: 'error',
      from: { path: '^src/(crypto|logging|config|tracing)/' },
      to: { path: ['^src/(control-plane|runner|actions|cli)/', '^workers/', '^machines/'] },
    },
    {
      name: 'actions-import-no-process',
      comment: 'Action bundles run inside a worker but know no process: no control plane, runner, worker, machine or CLI code.',
      severity: 'error',
      from: { path: '^src/actions/' },
      to: { path: ['^src/(control-plane|runner|cli)/', '^workers/', '^machines/'] },
    },
    ...PROCESSES.map((self) => ({
      name: `process-${self.replace(/[^a-z-]/g, '')}-imports-no-other-process`,
      comment: 'Processes talk over HTTP and Redis, never through each other’s modules; shared code goes to src/lib or src/contracts.',
      severity: 'error',
      from: { path: self },
      to: { path: [...PROCESSES.filter((p) => p !== self), '^src/cli/'] },
    })),
    {
      name: 'no-cycles',
      comment: 'No import cycles at run time (a type-only import back, e.g. for a handle type, is no cycle once compiled).',
      severity: 'error',
      from: {},
      to: { circular: true, viaOnly: { dependencyTypesNot: ['type-only'] } },
    },
    {
      name: 'no-test-code-in-product',
      severity: 'error',
      from: { path: '^(src|machines|workers|bin)/' },
      to: { path: '^test/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsConfig: { fileName: 'tsconfig.json' },
    tsPreCompilationDeps: true,
  },
};
