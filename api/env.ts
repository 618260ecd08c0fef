import type { ProviderRules } from '../activities/pool/rules.js';
import type { Client } from '@temporalio/client';
import type { Db } from '../db/client.js';

/** What the API needs, passed in by the entry point (bin/api.ts, bin/dev.ts, tests). */
export interface ApiDeps {
  db: Db;
  temporal: Client;
  taskQueue: string;
  /** Operator key for /v1/admin; the admin API refuses every request when absent. */
  adminKey?: string;
  /** Provider rules for the admin views of scores and states; the repo's rules file when absent. */
  providerRules?: ProviderRules;
}

/** Hono context variables set by middleware. */
export interface ApiEnv {
  Variables: { tenantId: string };
}
