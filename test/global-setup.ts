import type { TestProject } from 'vitest/node';
import { migrateDatabase } from '../db/client.js';
import { startEmbeddedPostgres } from '../dev/embedded-postgres.js';
import { startTemporalDevServer } from '../dev/temporal-server.js';
import { freePort } from '../dev/ports.js';

declare module 'vitest' {
  export interface ProvidedContext {
    temporalAddress: string;
    databaseUrl: string;
  }
}

/** Starts the real servers the suite talks to: a Temporal dev server and an embedded PostgreSQL. */
export default async function setup(project: TestProject) {
  const [temporal, pg] = await Promise.all([
    startTemporalDevServer({ port: await freePort(), uiPort: await freePort(), headless: true, cliPath: process.env.TEMPORAL_CLI_PATH }),
    process.env.TEST_DATABASE_URL
      ? Promise.resolve({ url: process.env.TEST_DATABASE_URL, stop: async () => {} })
      : startEmbeddedPostgres({ port: await freePort(), ephemeral: true }),
  ]);
  await migrateDatabase(pg.url);
  project.provide('temporalAddress', temporal.address);
  project.provide('databaseUrl', pg.url);
  return async () => {
    await Promise.allSettled([temporal.stop(), pg.stop()]);
  };
}
