import { sql } from 'drizzle-orm';
import { bigint, bigserial, index, integer, pgTable, text, timestamp, uuid } from 'drizzle-orm/pg-core';
import { bytea } from './columns.js';
import { tenants } from './schema-tenants.js';
import { users } from './schema-users.js';

// Data protection: the consent ledger, the audit hash chain's heads and anchors, retention per tenant.

export const consentSources = ['api', 'preference-page', 'unsubscribe-link'] as const;
export type ConsentSource = (typeof consentSources)[number];

/**
 * Every preference change and marketing consent, append-only (a trigger refuses UPDATE and DELETE
 * outside an erasure): when, through what, by whom, and the version of the text the person saw.
 * `preferences` is the projection of it, written in the same transaction.
 */
export const consentRecords = pgTable(
  'consent_records',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    tenantId: text('tenant_id')
      .notNull()
      .references(() => tenants.id, { onDelete: 'cascade' }),
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    categoryKey: text('category_key').notNull(),
    /** The channels chosen for the category; empty withdraws (and, for an opt-in category, revokes consent). */
    channels: text('channels').array().notNull(),
    /** opt_in / opt_out for categories that need consent (marketing), else preference. */
    action: text('action', { enum: ['preference', 'opt_in', 'opt_out'] }).notNull(),
    source: text('source', { enum: consentSources }).notNull(),
    /** Who made the change: e.g. "user", "app:support-agent-17", "link". Never an address. */
    actor: text('actor').notNull(),
    /** Version of the consent or preference text the person was shown, when known. */
    textVersion: text('text_version'),
    recordedAt: timestamp('recorded_at', { withTimezone: true, precision: 6 })
      .notNull()
      .default(sql`clock_timestamp()`),
  },
  (t) => [index('consent_records_user_idx').on(t.userId, t.id)],
);

/** The newest link of each tenant's audit chain; the insert trigger advances it under its row lock. */
export const auditChainHeads = pgTable('audit_chain_heads', {
  tenantId: text('tenant_id').primaryKey(),
  seq: bigint('seq', { mode: 'number' }).notNull().default(0),
  hash: bytea('hash')
    .notNull()
    .default(sql`'\\x'::bytea`),
  prev: bytea('prev')
    .notNull()
    .default(sql`'\\x'::bytea`),
});

/** Where a tenant's chain legitimately starts after retention dropped its older months. */
export const auditChainAnchors = pgTable(
  'audit_chain_anchors',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    tenantId: text('tenant_id').notNull(),
    /** The last dropped event's seq and hash: the first surviving event links to it. */
    seq: bigint('seq', { mode: 'number' }).notNull(),
    hash: bytea('hash').notNull(),
    droppedPartition: text('dropped_partition').notNull(),
    at: timestamp('at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [index('audit_chain_anchors_tenant_idx').on(t.tenantId, t.seq)],
);

/** Per-tenant retention; tenants without a row get the defaults (90 days, 13 months). */
export const tenantRetention = pgTable('tenant_retention', {
  tenantId: text('tenant_id')
    .primaryKey()
    .references(() => tenants.id, { onDelete: 'cascade' }),
  /** Rendered messages, event data and provider responses are removed after this many days. */
  contentDays: integer('content_days').notNull().default(90),
  /** Audit months kept (whole monthly partitions are dropped after). */
  auditMonths: integer('audit_months').notNull().default(13),
});
