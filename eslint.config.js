import { builtinModules } from 'node:module';
import { createTypeScriptImportResolver } from 'eslint-import-resolver-typescript';
import { importX } from 'eslint-plugin-import-x';
import tseslint from 'typescript-eslint';

// An import of activities/ from anywhere but the worker (which builds them) and workflows (types only).
const noActivities = {
  regex: '(^|/)activities/',
  message: 'Import domain/, never activities/: activities are thin Temporal factories over domain/.',
};

export default tseslint.config(
  {
    ignores: [
      'node_modules/**',
      'db/migrations/**',
      '.cache/**',
      'dist/**',
      'packages/*/dist/**',
      'packages/client/src/api-types.ts',
      'eslint.config.js',
    ],
  },
  ...tseslint.configs.recommended,
  {
    // The compile thread's entry is plain JavaScript (templates/mjml.ts says why).
    languageOptions: { parserOptions: { projectService: { allowDefaultProject: ['templates/*.mjs'] }, tsconfigRootDir: import.meta.dirname } },
    plugins: { 'import-x': importX },
    settings: {
      ...importX.flatConfigs.typescript.settings,
      'import-x/resolver': undefined,
      'import-x/resolver-next': [createTypeScriptImportResolver()],
    },
    rules: {
      // Forgetting to await an activity, a workflow API or a DB write is a bug.
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'separate-type-imports' }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', ignoreRestSiblings: true }],
      eqeqeq: 'error',
      // Arrows point one way (api/inbound/activities -> domain -> db); a cycle is a backward arrow.
      'import-x/no-cycle': 'error',
    },
  },
  {
    // The API, the pages, the inbound listener and domain code never reach into activities/.
    files: ['api/**/*.ts', 'web/**/*.ts', 'inbound/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [noActivities] }] },
  },
  {
    // domain/ says what happened in its own types (domain/failures/refusal.ts); activities/ turn that
    // into Temporal failures and workflows/ choose task queues and priorities.
    files: ['domain/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            noActivities,
            { group: ['@temporalio/*'], message: 'domain/ knows nothing of Temporal: return a typed outcome, activities/ convert it.' },
          ],
        },
      ],
    },
  },
  {
    // Workflow code runs in Temporal's deterministic sandbox: no Node built-ins, nothing with side
    // effects at import; activities and domain shapes by type only.
    files: ['workflows/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: builtinModules
            .flatMap((m) => [m, `node:${m}`])
            .map((name) => ({ name, message: 'Workflows must stay deterministic: no Node built-ins.' })),
          patterns: [
            {
              regex: '^\\.\\./(db|api|dev|worker|seed|templates|config|inbound|lib|bin|bench)(/|$)',
              message: 'Workflows reach the outside only through activities.',
            },
            { regex: '^\\.\\./(activities|domain)/', allowTypeImports: true, message: 'Import activity and domain types only (import type).' },
          ],
        },
      ],
    },
  },
  {
    // Task queues and priorities are chosen at the start (api/) and served by the worker; no
    // workflow imports this file, so its hash may use node:crypto.
    files: ['workflows/queues.ts'],
    rules: { 'no-restricted-imports': 'off' },
  },
);
