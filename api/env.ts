import type { Client } from '@temporalio/client';
import type { Db } from '../db/client.js';

/** What the API needs, passed in by the entry point (bin/api.ts, bin/dev.ts, tests). */
export interface ApiDeps {
  db: Db;
  temporal: Client;
  taskQueue: string;
}

/** Hono context variables set by middleware. */
export interface ApiEnv {
  Variables: { tenantId: string };
}
