import { sql } from 'drizzle-orm';
import { boolean, integer, jsonb, pgTable, primaryKey, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
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
  /** active; suspended by an operator (keys refused, nothing sent); held after spam signals (sends wait). */
  status: text('status', { enum: ['active', 'suspended', 'held'] })
    .notNull()
    .default('active'),
  statusReason: text('status_reason'),
  statusChangedAt: timestamp('status_changed_at', { withTimezone: true }),
  /** Development tenants: may trigger before a sending domain's DKIM record has verified. */
  sandbox: boolean('sandbox').notNull().default(false),
  /** BCP 47 tag whose template content serves a user whose own locale (and its language) has none. */
  defaultLocale: text('default_locale').notNull().default('en'),
  createdAt: createdAt(),
});

/** API keys are stored as SHA-256 hashes; the clear key is shown once, at creation. */
export const apiKeys = pgTable(
  'api_keys',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    tenantId: text('tenant_id')
      .notNull()
      .references(() => tenants.id, { onDelete: 'cascade' }),
    keyHash: text('key_hash').notNull(),
    prefix: text('prefix').notNull(),
    name: text('name').notNull().default('default'),
    /** send: notifications, users, preferences; manage: types, templates, domains, keys, webhook. */
    scopes: text('scopes')
      .array()
      .notNull()
      .default(sql`'{send,manage}'::text[]`),
    expiresAt: timestamp('expires_at', { withTimezone: true }),
    /** Written at most once a minute per key and API process. */
    lastUsedAt: timestamp('last_used_at', { withTimezone: true }),
    createdAt: createdAt(),
    revokedAt: timestamp('revoked_at', { withTimezone: true }),
  },
  (t) => [uniqueIndex('api_keys_hash_idx').on(t.keyHash)],
);

/**
 * A tenant's From domain with its DKIM key; private keys are AES-256-GCM encrypted at rest.
 * `dkim_*` is the key mail is signed with; `pending_*` a rotated key waiting for its DNS record;
 * `retired_*` the previous key, whose record must stay published until `retired_at` + the grace.
 */
export const sendingDomains = pgTable(
  'sending_domains',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    tenantId: text('tenant_id')
      .notNull()
      .references(() => tenants.id, { onDelete: 'cascade' }),
    domain: text('domain').notNull(),
    fromLocalPart: text('from_local_part').notNull().default('alerts'),
    fromName: text('from_name').notNull(),
    dkimSelector: text('dkim_selector').notNull(),
    dkimPrivateKeyEnc: text('dkim_private_key_enc').notNull(),
    dkimPublicKey: text('dkim_public_key').notNull(),
    /** When the signing key's DNS record was last seen right; null: mail from this domain is refused at trigger. */
    dkimVerifiedAt: at('dkim_verified_at'),
    /** pending (never verified), verified (every record ok at the last check), failing (was verified, now is not). */
    status: text('status', { enum: ['pending', 'verified', 'failing'] })
      .notNull()
      .default('pending'),
    firstVerifiedAt: at('first_verified_at'),
    lastCheckedAt: at('last_checked_at'),
    /** The last check's per-record results. */
    lastCheck: jsonb('last_check'),
    pendingSelector: text('pending_selector'),
    pendingPrivateKeyEnc: text('pending_private_key_enc'),
    pendingPublicKey: text('pending_public_key'),
    retiredSelector: text('retired_selector'),
    retiredPublicKey: text('retired_public_key'),
    retiredAt: at('retired_at'),
    /** Rotate the DKIM key every this many days (the daily check starts it); null: by hand only. */
    rotateEveryDays: integer('rotate_every_days'),
    dkimCreatedAt: at('dkim_created_at').notNull().defaultNow(),
    createdAt: createdAt(),
  },
  (t) => [uniqueIndex('sending_domains_domain_idx').on(t.domain)],
);

/** A tenant's mail to one provider held (response rule "holdTenant"), until a time. */
export const tenantHolds = pgTable(
  'tenant_holds',
  {
    tenantId: text('tenant_id')
      .notNull()
      .references(() => tenants.id, { onDelete: 'cascade' }),
    provider: text('provider').notNull(),
    until: at('until').notNull(),
    reason: text('reason').notNull(),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.provider] })],
);

/** The pool a tenant may overflow to when its own can't send; only tenants that allow it have a row. */
export const tenantFallbackPools = pgTable('tenant_fallback_pools', {
  tenantId: text('tenant_id')
    .primaryKey()
    .references(() => tenants.id, { onDelete: 'cascade' }),
  poolId: text('pool_id')
    .notNull()
    .references(() => pools.id),
});
