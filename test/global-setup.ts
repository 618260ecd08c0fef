import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { writeWorkflowBundle } from '../bin/bundle-workflows.js';
import { migrateDatabase } from '../db/client.js';
import { startEmbeddedPostgres } from '../dev/embedded-postgres.js';
import { startTemporalDevServer } from '../dev/temporal-server.js';
import { freePort } from '../dev/ports.js';

declare module 'vitest' {
  export interface ProvidedContext {
    temporalAddress: string;
    databaseUrl: string;
    /** The workflow bundle, built once per run (webpack takes seconds; every worker in every file loads this file). */
    workflowBundlePath: string;
  }
}

/**
 * Starts the real servers the suite talks to (a Temporal dev server and an embedded PostgreSQL)
 * and bundles the workflows once for every worker of the run.
 */
export default async function setup(project: TestProject) {
  const bundleDir = mkdtempSync(join(tmpdir(), 'notiflow-bundle-'));
  const [temporal, pg, bundlePath] = await Promise.all([
    startTemporalDevServer({ port: await freePort(), uiPort: await freePort(), headless: true, cliPath: process.env.TEMPORAL_CLI_PATH }),
    process.env.TEST_DATABASE_URL
      ? Promise.resolve({ url: process.env.TEST_DATABASE_URL, stop: async () => {} })
      : startEmbeddedPostgres({ port: await freePort(), ephemeral: true }),
    writeWorkflowBundle(join(bundleDir, 'workflow-bundle.js')),
  ]);
  await migrateDatabase(pg.url);
  project.provide('temporalAddress', temporal.address);
  project.provide('databaseUrl', pg.url);
  project.provide('workflowBundlePath', bundlePath);
  return async () => {
    await Promise.allSettled([temporal.stop(), pg.stop()]);
    rmSync(bundleDir, { recursive: true, force: true });
  };
}
