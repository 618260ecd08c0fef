import { pgTable, primaryKey, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { at, createdAt } from './columns.js';
import { pools } from './schema-pools.js';

// Tenants, their API keys and sending domains, and where their mail may go.

/** A fintech app using the engine. The id is a slug the operator chooses ("demo-bank"). */
export const tenants = pgTable('tenants', {
  id: text('id').primaryKey(),
  name: text('name').notNull(),
  poolId: text('pool_id').references(() => pools.id),
  /** Where each notification's outcome is POSTed (HMAC-signed); null: no status webhooks. */
  statusWebhookUrl: text('status_webhook_url'),
  createdAt: createdAt(),
});

/** API keys are stored as SHA-256 hashes; the clear key is shown once, at creation. */
export const apiKeys = pgTable(
  'api_keys',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    tenantId: text('tenant_id').notNull().references(() => tenants.id, { onDelete: 'cascade' }),
    keyHash: text('key_hash').notNull(),
    prefix: text('prefix').notNull(),
    createdAt: createdAt(),
    revokedAt: timestamp('revoked_at', { withTimezone: true }),
  },
  (t) => [uniqueIndex('api_keys_hash_idx').on(t.keyHash)],
);

/** A tenant's From domain with its DKIM key; the private key is AES-256-GCM encrypted at rest. */
export const sendingDomains = pgTable('sending_domains', {
  id: uuid('id').primaryKey().defaultRandom(),
  tenantId: text('tenant_id').notNull().references(() => tenants.id, { onDelete: 'cascade' }),
  domain: text('domain').notNull(),
  fromLocalPart: text('from_local_part').notNull().default('alerts'),
  fromName: text('from_name').notNull(),
  dkimSelector: text('dkim_selector').notNull(),
  dkimPrivateKeyEnc: text('dkim_private_key_enc').notNull(),
  dkimPublicKey: text('dkim_public_key').notNull(),
  createdAt: createdAt(),
});

/** A tenant's mail to one provider held (response rule "holdTenant"), until a time. */
export const tenantHolds = pgTable(
  'tenant_holds',
  {
    tenantId: text('tenant_id').notNull().references(() => tenants.id, { onDelete: 'cascade' }),
    provider: text('provider').notNull(),
    until: at('until').notNull(),
    reason: text('reason').notNull(),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.provider] })],
);

/** The pool a tenant may overflow to when its own can't send; only tenants that allow it have a row. */
export const tenantFallbackPools = pgTable('tenant_fallback_pools', {
  tenantId: text('tenant_id').primaryKey().references(() => tenants.id, { onDelete: 'cascade' }),
  poolId: text('pool_id').notNull().references(() => pools.id),
});
