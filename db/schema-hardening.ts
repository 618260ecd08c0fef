import { index, pgTable, primaryKey, text, timestamp } from 'drizzle-orm/pg-core';

/**
 * Signatures of provider feedback webhooks already accepted, remembered for the signature's
 * time window: a captured request replayed inside the window is refused.
 */
export const feedbackWebhookNonces = pgTable(
  'feedback_webhook_nonces',
  {
    provider: text('provider').notNull(),
    nonce: text('nonce').notNull(),
    seenAt: timestamp('seen_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.provider, t.nonce] }), index('feedback_webhook_nonces_seen_idx').on(t.seenAt)],
);

/** Each tenant's status-webhook signing secret: random, encrypted at rest, shown once, rotatable. */
export const tenantWebhookSecrets = pgTable('tenant_webhook_secrets', {
  tenantId: text('tenant_id').primaryKey(),
  /** Sealed with the engine key (config/secrets.ts): the worker needs the secret itself to sign. */
  secretEnc: text('secret_enc').notNull(),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
});
