import { sql } from 'drizzle-orm';
import {
  bigserial,
  boolean,
  index,
  integer,
  jsonb,
  pgTable,
  primaryKey,
  text,
  timestamp,
  uniqueIndex,
  uuid,
} from 'drizzle-orm/pg-core';
import { channels, notificationStatuses, type NotificationStatus } from '../domain/notifications/status.js';

const createdAt = () => timestamp('created_at', { withTimezone: true }).notNull().defaultNow();

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

/** A group of egress sources; dedicated pools serve one tenant, shared pools many. */
export const pools = pgTable('pools', {
  id: text('id').primaryKey(),
  name: text('name').notNull(),
  kind: text('kind', { enum: ['shared', 'dedicated'] }).notNull().default('shared'),
  /** Smart host the pool relays through (dev inbox, a relay); null means direct MX delivery. */
  relayHost: text('relay_host'),
  relayPort: integer('relay_port'),
  createdAt: createdAt(),
});

/** One sending address (source IP + EHLO name) of a pool. */
export const egressSources = pgTable('egress_sources', {
  id: text('id').primaryKey(),
  poolId: text('pool_id').notNull().references(() => pools.id, { onDelete: 'cascade' }),
  localAddress: text('local_address').notNull(),
  ehloName: text('ehlo_name').notNull(),
  weight: integer('weight').notNull().default(100),
  createdAt: createdAt(),
});

/** An end user of a tenant. `externalId` is the app's own user id. */
export const users = pgTable(
  'users',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    tenantId: text('tenant_id').notNull().references(() => tenants.id, { onDelete: 'cascade' }),
    externalId: text('external_id').notNull(),
    email: text('email'),
    locale: text('locale').notNull().default('en'),
    timezone: text('timezone').notNull().default('Europe/Paris'),
    createdAt: createdAt(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [uniqueIndex('users_tenant_external_idx').on(t.tenantId, t.externalId)],
);

export const pushDevices = pgTable(
  'push_devices',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    userId: uuid('user_id').notNull().references(() => users.id, { onDelete: 'cascade' }),
    token: text('token').notNull(),
    createdAt: createdAt(),
  },
  (t) => [uniqueIndex('push_devices_user_token_idx').on(t.userId, t.token)],
);

/** Per-tenant categories: defaults, and the rules that preferences can't override. */
export const categories = pgTable(
  'categories',
  {
    tenantId: text('tenant_id').notNull().references(() => tenants.id, { onDelete: 'cascade' }),
    key: text('key').notNull(),
    defaultChannels: text('default_channels').array().notNull(),
    /** Always reaches the user on at least one channel (security). */
    mandatory: boolean('mandatory').notNull().default(false),
    /** Sent only to users with a recorded opt-in (marketing). */
    requiresOptIn: boolean('requires_opt_in').notNull().default(false),
    /** May use a channel the user did not choose when the chosen one fails for good. */
    allowFallback: boolean('allow_fallback').notNull().default(true),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.key] })],
);

/** Notification types a tenant may trigger; templates live in templates/ under the same key. */
export const notificationTypes = pgTable(
  'notification_types',
  {
    tenantId: text('tenant_id').notNull().references(() => tenants.id, { onDelete: 'cascade' }),
    key: text('key').notNull(),
    categoryKey: text('category_key').notNull(),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.key] })],
);

/** A user's channel choice per category, and the recorded opt-in where one is needed. */
export const preferences = pgTable(
  'preferences',
  {
    userId: uuid('user_id').notNull().references(() => users.id, { onDelete: 'cascade' }),
    categoryKey: text('category_key').notNull(),
    channels: text('channels').array().notNull(),
    optedInAt: timestamp('opted_in_at', { withTimezone: true }),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.userId, t.categoryKey] })],
);

export { notificationStatuses, type NotificationStatus };

export const notifications = pgTable(
  'notifications',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    tenantId: text('tenant_id').notNull().references(() => tenants.id, { onDelete: 'cascade' }),
    userId: uuid('user_id').notNull().references(() => users.id, { onDelete: 'cascade' }),
    type: text('type').notNull(),
    categoryKey: text('category_key').notNull(),
    idempotencyKey: text('idempotency_key').notNull(),
    /** Hash of the request that used the key: the same key with another payload is refused. */
    requestHash: text('request_hash').notNull(),
    workflowId: text('workflow_id').notNull(),
    data: jsonb('data').notNull(),
    status: text('status', { enum: notificationStatuses }).notNull().default('accepted'),
    channels: text('channels').array().notNull().default(sql`'{}'::text[]`),
    deliveredChannels: text('delivered_channels').array().notNull().default(sql`'{}'::text[]`),
    error: text('error'),
    createdAt: createdAt(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex('notifications_idem_idx').on(t.tenantId, t.idempotencyKey),
    index('notifications_user_idx').on(t.userId, t.createdAt),
  ],
);

/** Rendered content, kept in Postgres so workflow histories stay small and free of message bodies. */
export const renderedMessages = pgTable(
  'rendered_messages',
  {
    notificationId: uuid('notification_id').notNull().references(() => notifications.id, { onDelete: 'cascade' }),
    channel: text('channel', { enum: channels }).notNull(),
    locale: text('locale').notNull(),
    subject: text('subject').notNull(),
    html: text('html'),
    text: text('text').notNull(),
    createdAt: createdAt(),
  },
  (t) => [primaryKey({ columns: [t.notificationId, t.channel] })],
);

export const attemptOutcomes = ['accepted', 'deferred', 'failed'] as const;

/** One try to hand a message to SMTP or FCM, with the peer's answer. Range partitioned by month, like audit_events. */
export const deliveryAttempts = pgTable(
  'delivery_attempts',
  {
    id: uuid('id').notNull().defaultRandom(),
    notificationId: uuid('notification_id').notNull().references(() => notifications.id, { onDelete: 'cascade' }),
    channel: text('channel', { enum: channels }).notNull(),
    attempt: integer('attempt').notNull(),
    outcome: text('outcome', { enum: attemptOutcomes }).notNull(),
    poolId: text('pool_id'),
    egressId: text('egress_id'),
    sourceIp: text('source_ip'),
    /** Recipient domain (e-mail) or device id (push): enough to diagnose, no address or token. */
    target: text('target'),
    provider: text('provider'),
    responseCode: integer('response_code'),
    response: text('response'),
    startedAt: timestamp('started_at', { withTimezone: true }).notNull(),
    finishedAt: timestamp('finished_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    // Partitioned by month of finished_at (migration 0004): the partition key is part of the key.
    primaryKey({ columns: [t.id, t.finishedAt] }),
    index('delivery_attempts_notification_idx').on(t.notificationId, t.startedAt),
    // The delivery monitor's recent-window query; without it, a scan of every attempt every 5 min.
    index('delivery_attempts_finished_idx').on(t.finishedAt),
  ],
);

/**
 * Append-only trail of every step; a trigger in the migrations refuses UPDATE and DELETE. Range
 * partitioned by month (see db/partitions.ts): retention drops whole months, indexes stay small.
 */
export const auditEvents = pgTable(
  'audit_events',
  {
    id: bigserial('id', { mode: 'number' }).notNull(),
    tenantId: text('tenant_id').notNull(),
    notificationId: uuid('notification_id'),
    // clock_timestamp, not now(): several steps written in one transaction keep distinct times.
    at: timestamp('at', { withTimezone: true, precision: 6 }).notNull().default(sql`clock_timestamp()`),
    step: text('step').notNull(),
    detail: jsonb('detail').notNull().default({}),
  },
  (t) => [
    // Partitioned by month of `at` (migration 0004): the partition key is part of the key.
    primaryKey({ columns: [t.id, t.at] }),
    index('audit_events_notification_idx').on(t.notificationId, t.id),
  ],
);

export * from './schema-feedback.js';
export * from './schema-pools.js';
