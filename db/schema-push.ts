import { pgTable, text, timestamp } from 'drizzle-orm/pg-core';

/**
 * Each tenant's own Firebase service account (PUT /v1/push-credentials): its pushes go to its
 * Firebase project. The JSON is sealed with the engine key, bound to the tenant, and never read back.
 */
export const tenantPushCredentials = pgTable('tenant_push_credentials', {
  tenantId: text('tenant_id').primaryKey(),
  projectId: text('project_id').notNull(),
  clientEmail: text('client_email').notNull(),
  credentialEnc: text('credential_enc').notNull(),
  /** When it was set: the worker rebuilds the tenant's Firebase app when this changes. */
  updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
});
