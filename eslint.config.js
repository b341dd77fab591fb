// ESLint flat config: typescript-eslint's strictTypeChecked (no floating or misused promises,
// no unsafe any, no needless conditions) on everything we ship and test; `npm run lint` runs it
// with --max-warnings=0 inside `npm test`. Formatting is Prettier's job (.prettierrc.json,
// `npm run format:check`), not ESLint's.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/**', 'dist/**', 'src/control-plane/web/static/**', 'coverage/**'] },
  js.configs.recommended,
  ...tseslint.configs.strictTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    rules: {
      // Numbers and booleans read well in messages; objects and nullish values do not.
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true, allowBoolean: true }],
      // `() => void x()` arrow shorthands are the idiom for callbacks.
      '@typescript-eslint/no-confusing-void-expression': ['error', { ignoreArrowShorthand: true }],
      // `_`-prefixed names are deliberately unused (positional parameters, destructured omissions).
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
    },
  },
  {
    // Fastify plugins, hooks and handlers are async by contract (a plugin returns a promise or calls done).
    files: [
      'src/control-plane/routes/**/*.ts',
      'src/control-plane/openapi.ts',
      'src/control-plane/input-limits.ts',
      'src/runner/admin-server.ts',
    ],
    rules: { '@typescript-eslint/require-await': 'off' },
  },
  {
    // node:test's test()/describe() return promises the runner itself awaits.
    files: ['test/**/*.ts'],
    rules: {
      '@typescript-eslint/no-floating-promises': [
        'error',
        {
          allowForKnownSafeCalls: [
            {
              from: 'package',
              name: ['test', 'describe', 'it', 'suite', 'before', 'after', 'beforeEach', 'afterEach'],
              package: 'node:test',
            },
          ],
        },
      ],
      // Tests read JSON bodies and wire data whose shape is what they assert.
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/no-non-null-assertion': 'off',
      // Fakes and stubs implement async interfaces (publish, heartbeat, probe, fromPromise actors) without awaiting.
      '@typescript-eslint/require-await': 'off',
      // Fakes delete computed keys of plain records (merge patches, BSON $unset), tests restore process.env.
      '@typescript-eslint/no-dynamic-delete': 'off',
    },
  },
  {
    files: ['**/*.js', '**/*.cjs', '**/*.mjs'],
    ...tseslint.configs.disableTypeChecked,
  },
  {
    // Plain JavaScript run by Node (bin/, scripts/, test/*.mjs): Node's globals.
    files: ['**/*.js', '**/*.cjs', '**/*.mjs'],
    languageOptions: { globals: { process: 'readonly', URL: 'readonly', console: 'readonly', module: 'writable', require: 'readonly' } },
  },
);
