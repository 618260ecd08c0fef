import { sql } from 'drizzle-orm';
import { bigint, bigserial, index, integer, jsonb, pgTable, primaryKey, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { channels, notificationStatuses, type NotificationStatus } from '../lib/notification-vocabulary.js';
import { bytea, createdAt } from './columns.js';
import { tenants } from './schema-tenants.js';
import { users } from './schema-users.js';

// Notifications, their rendered content, every delivery attempt and the audit trail.

export { notificationStatuses, type NotificationStatus };

export const notifications = pgTable(
  'notifications',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    tenantId: text('tenant_id')
      .notNull()
      .references(() => tenants.id, { onDelete: 'cascade' }),
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    type: text('type').notNull(),
    categoryKey: text('category_key').notNull(),
    idempotencyKey: text('idempotency_key').notNull(),
    /** Hash of the request that used the key: the same key with another payload is refused. */
    requestHash: text('request_hash').notNull(),
    workflowId: text('workflow_id').notNull(),
    data: jsonb('data').notNull(),
    /** The template version chosen when the notification was accepted; every render uses it. */
    templateVersion: integer('template_version'),
    status: text('status', { enum: notificationStatuses }).notNull().default('accepted'),
    channels: text('channels')
      .array()
      .notNull()
      .default(sql`'{}'::text[]`),
    deliveredChannels: text('delivered_channels')
      .array()
      .notNull()
      .default(sql`'{}'::text[]`),
    error: text('error'),
    createdAt: createdAt(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex('notifications_idem_idx').on(t.tenantId, t.idempotencyKey),
    index('notifications_user_idx').on(t.userId, t.createdAt),
    // GET /v1/notifications: newest first per tenant (keyset on created_at, id), and by status.
    index('notifications_tenant_created_idx').on(t.tenantId, t.createdAt.desc(), t.id.desc()),
    index('notifications_tenant_status_created_idx').on(t.tenantId, t.status, t.createdAt.desc(), t.id.desc()),
    // The console's log across tenants: newest first without sorting the whole table.
    index('notifications_created_idx').on(t.createdAt.desc(), t.id.desc()),
  ],
);

/** Rendered content, kept in Postgres so workflow histories stay small and free of message bodies. */
export const renderedMessages = pgTable(
  'rendered_messages',
  {
    notificationId: uuid('notification_id')
      .notNull()
      .references(() => notifications.id, { onDelete: 'cascade' }),
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
    notificationId: uuid('notification_id')
      .notNull()
      .references(() => notifications.id, { onDelete: 'cascade' }),
    channel: text('channel', { enum: channels }).notNull(),
    attempt: integer('attempt').notNull(),
    outcome: text('outcome', { enum: attemptOutcomes }).notNull(),
    poolId: text('pool_id'),
    ipId: text('egress_id'),
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
    at: timestamp('at', { withTimezone: true, precision: 6 })
      .notNull()
      .default(sql`clock_timestamp()`),
    step: text('step').notNull(),
    detail: jsonb('detail').notNull().default({}),
    // Hash chain per tenant, filled by the insert trigger (migration 0011): position, previous
    // event's hash, this event's hash over its fields and the digest of `detail` (which erasure may blank).
    seq: bigint('seq', { mode: 'number' }),
    prevHash: bytea('prev_hash'),
    hash: bytea('hash'),
    detailDigest: bytea('detail_digest'),
  },
  (t) => [
    // Partitioned by month of `at` (migration 0004): the partition key is part of the key.
    primaryKey({ columns: [t.id, t.at] }),
    index('audit_events_notification_idx').on(t.notificationId, t.id),
  ],
);
