import { builtinModules } from 'node:module';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['node_modules/**', 'db/migrations/**', '.cache/**', 'dist/**', 'eslint.config.js'] },
  ...tseslint.configs.recommended,
  {
    // The compile thread's entry is plain JavaScript (templates/mjml.ts says why).
    languageOptions: { parserOptions: { projectService: { allowDefaultProject: ['templates/*.mjs'] }, tsconfigRootDir: import.meta.dirname } },
    rules: {
      // Forgetting to await an activity, a workflow API or a DB write is a bug.
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'separate-type-imports' }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', ignoreRestSiblings: true }],
      eqeqeq: 'error',
    },
  },
  {
    // Workflow code runs in Temporal's deterministic sandbox: no Node built-ins, no db/, activities by type only.
    files: ['workflows/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: builtinModules.flatMap((m) => [m, `node:${m}`]).map((name) => ({ name, message: 'Workflows must stay deterministic: no Node built-ins.' })),
          patterns: [
            { group: ['../db/*', '../api/*', '../dev/*', '../worker/*'], message: 'Workflows reach the outside only through activities.' },
            { group: ['../activities/*'], allowTypeImports: true, message: 'Import activity types only (import type).' },
          ],
        },
      ],
    },
  },
);
