import { defineConfig } from 'vitest/config';

// Files that may run two at a time: each works in its own tenant with random ids and addresses,
// asserts no time bound, and reads no state shared across tenants (partitions, every audit chain,
// source-IP reputation, monitors over every tenant). Long idle waits (quiet hours, schedules)
// then overlap other files. Any other file, and every new file unless added here, runs alone.
const parallelSafe = [
  'api-batch',
  'api-exposure',
  'api-refusals',
  'api-unavailable',
  'api-users',
  'api-validation',
  'chaos-report',
  'client',
  'console-sessions',
  'currency-bounds',
  'data-protection-codec',
  'data-protection-residency',
  'delivery-retry',
  'docs-browser',
  'feedback-auth',
  'feedback-loops',
  'feedback-parse',
  'feedback-rejects-cap',
  'feedback-unsubscribe',
  'log-redaction',
  'notification-delivery',
  'notification-email',
  'notification-timing',
  'pools-rules',
  'push-tenants',
  'secret-keys',
  'sending-domains-keygen',
  'suppression-scope',
  'template-compile-limits',
  'templates',
  'templates-tenant',
  'test-send-safeguards',
  'tls-api',
  'tls-temporal',
  'webhook-egress',
  'wire-smtp',
].map((name) => `test/${name}.test.ts`);

export default defineConfig({
  test: {
    // Each project gets its own Temporal dev server, PostgreSQL and workflow bundle from this global setup.
    globalSetup: ['test/global-setup.ts'],
    // Temporal workers use native threads and much memory: separate processes.
    pool: 'forks',
    testTimeout: 90_000,
    hookTimeout: 120_000,
    projects: [
      // Two files at a time on 2 cores; first, so the serial files then have the machine to themselves.
      { extends: true, test: { name: 'parallel', include: parallelSafe, maxWorkers: 2, sequence: { groupOrder: 0 } } },
      {
        extends: true,
        test: { name: 'serial', include: ['test/**/*.test.ts'], exclude: parallelSafe, fileParallelism: false, sequence: { groupOrder: 1 } },
      },
    ],
  },
});
