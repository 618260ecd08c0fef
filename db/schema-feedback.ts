import { sql } from 'drizzle-orm';
import { bigint, bigserial, index, integer, jsonb, pgTable, primaryKey, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';

// Feedback loops (bounces, complaints, unsubscribes), suppression, IP quarantine and operator alarms.

const at = (name: string) => timestamp(name, { withTimezone: true });

export const suppressionReasons = ['hard_bounce', 'complaint', 'unsubscribe', 'manual'] as const;
export type SuppressionReason = (typeof suppressionReasons)[number];

/** Addresses of a tenant that get no e-mail. Stored lower-cased; personal data stays in Postgres. */
export const suppressions = pgTable(
  'suppressions',
  {
    tenantId: text('tenant_id').notNull(),
    email: text('email').notNull(),
    reason: text('reason', { enum: suppressionReasons }).notNull(),
    /** Where it came from: dsn, arf, provider-webhook, api, ... */
    source: text('source').notNull(),
    notificationId: uuid('notification_id'),
    detail: text('detail'),
    createdAt: at('created_at').notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.email] })],
);

export const feedbackKinds = ['bounce', 'complaint', 'unsubscribe'] as const;

/**
 * One bounce, complaint or unsubscribe linked to its notification and delivery attempt. Source IP
 * and provider are kept so reputation can be counted per IP x provider.
 */
export const feedbackEvents = pgTable(
  'feedback_events',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    kind: text('kind', { enum: feedbackKinds }).notNull(),
    tenantId: text('tenant_id').notNull(),
    notificationId: uuid('notification_id'),
    attemptId: uuid('attempt_id'),
    /** hard / soft for bounces; null otherwise. */
    bounceType: text('bounce_type', { enum: ['hard', 'soft'] }),
    /** unknown_user, mailbox_full, policy, spam_block, blocklisted, ... or the ARF feedback type. */
    class: text('class'),
    status: text('status'),
    diagnostic: text('diagnostic'),
    sourceIp: text('source_ip'),
    /** Mailbox provider as recorded on the attempt (provider, else the recipient domain). */
    provider: text('provider'),
    source: text('source').notNull(),
    receivedAt: at('received_at').notNull().defaultNow(),
  },
  (t) => [index('feedback_events_ip_idx').on(t.sourceIp, t.receivedAt), index('feedback_events_notification_idx').on(t.notificationId)],
);

/**
 * Reports that could not be used (malformed, unknown type, unknown notification), kept for inspection.
 * Strangers fill it: a repeat only counts (one row per digest), and feedback_rejects_usage caps it.
 */
export const feedbackRejects = pgTable(
  'feedback_rejects',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    source: text('source').notNull(),
    reason: text('reason').notNull(),
    remoteAddress: text('remote_address'),
    /** The raw report, cut to a bounded size. */
    raw: text('raw').notNull(),
    receivedAt: at('received_at').notNull().defaultNow(),
    /** SHA-256 of source, reason and raw: the same report again only bumps `repeats`. */
    digest: text('digest'),
    repeats: integer('repeats').notNull().default(1),
    lastReceivedAt: at('last_received_at').notNull().defaultNow(),
    /** The tenant whose notification the report names, when it could be tied to one (erasure stays within it). */
    tenantId: text('tenant_id'),
    /** Every address in the report, lower-cased: erasure finds the rows that quote one through this. */
    recipients: text('recipients')
      .array()
      .notNull()
      .default(sql`'{}'::text[]`),
  },
  (t) => [
    uniqueIndex('feedback_rejects_digest').on(t.digest),
    index('feedback_rejects_recipients').using('gin', t.recipients),
    index('feedback_rejects_last_received').on(t.lastReceivedAt),
  ],
);

/** One row (id 1): what feedback_rejects holds (kept by triggers) and how many reports the cap turned away. */
export const feedbackRejectsUsage = pgTable('feedback_rejects_usage', {
  id: integer('id').primaryKey(),
  rows: bigint('rows', { mode: 'number' }).notNull().default(0),
  bytes: bigint('bytes', { mode: 'number' }).notNull().default(0),
  dropped: bigint('dropped', { mode: 'number' }).notNull().default(0),
});

/** Sending IPs taken out of service for every provider (e.g. a DNSBL listing) until released. */
export const ipQuarantine = pgTable('egress_quarantine', {
  ip: text('ip').primaryKey(),
  reason: text('reason').notNull(),
  since: at('since').notNull().defaultNow(),
  /** null: until the cause is gone (delisted). */
  until: at('until'),
});

/** Operator alarms; one open row per (kind, scope key), resolved when the condition clears. */
export const alarms = pgTable(
  'alarms',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    kind: text('kind').notNull(),
    severity: text('severity', { enum: ['warn', 'alarm'] }).notNull(),
    /** What it is about, e.g. "ip:127.0.0.3" or "provider:gmail.com". */
    scope: text('scope').notNull(),
    message: text('message').notNull(),
    detail: jsonb('detail').notNull().default({}),
    raisedAt: at('raised_at').notNull().defaultNow(),
    resolvedAt: at('resolved_at'),
    /** When the operator webhook acknowledged it (2xx). */
    notifiedAt: at('notified_at'),
    notifyAttempts: integer('notify_attempts').notNull().default(0),
    /** When an operator acknowledged it in the console: the webhook stops paging about it. */
    acknowledgedAt: at('acknowledged_at'),
  },
  (t) => [index('alarms_open_idx').on(t.kind, t.scope, t.resolvedAt)],
);
