import { boolean, index, integer, jsonb, pgTable, primaryKey, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import type { LayoutContent, VariableSpec, VersionContent } from '../templates/version-types.js';
import { tenants } from './schema-tenants.js';

/**
 * Immutable versions of a type's content. `variables` and `layoutVersion` are pinned when the
 * version is created, so a version renders the same way for its whole life (and its compiled form
 * can be cached forever). Which one sends is notification_types.published_version.
 */
export const templateVersions = pgTable(
  'template_versions',
  {
    tenantId: text('tenant_id')
      .notNull()
      .references(() => tenants.id, { onDelete: 'cascade' }),
    typeKey: text('type_key').notNull(),
    version: integer('version').notNull(),
    content: jsonb('content').$type<VersionContent>().notNull(),
    variables: jsonb('variables').$type<Record<string, VariableSpec>>().notNull(),
    layoutVersion: integer('layout_version'),
    /** Results of the checks made at creation: spam score and findings, generated text parts. */
    checks: jsonb('checks').$type<Record<string, unknown>>().notNull().default({}),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    /** Last time it was made the sending version (null: never). */
    publishedAt: timestamp('published_at', { withTimezone: true }),
    /** Published although the spam check said likely-spam. */
    forced: boolean('forced').notNull().default(false),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.typeKey, t.version] })],
);

/** Immutable layout versions; the newest published one is pinned by each new template version. */
export const layoutVersions = pgTable(
  'layout_versions',
  {
    tenantId: text('tenant_id')
      .notNull()
      .references(() => tenants.id, { onDelete: 'cascade' }),
    version: integer('version').notNull(),
    content: jsonb('content').$type<LayoutContent>().notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    publishedAt: timestamp('published_at', { withTimezone: true }),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.version] })],
);

/**
 * A test message: a version sent to one of the tenant's confirmed test recipients, or the
 * confirmation code mailed to a recipient being added. The address stays here; the workflow gets
 * the id. Every row counts towards the tenant's daily cap on test mail.
 */
export const testSends = pgTable(
  'test_sends',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    tenantId: text('tenant_id')
      .notNull()
      .references(() => tenants.id, { onDelete: 'cascade' }),
    purpose: text('purpose', { enum: ['template', 'confirmation'] })
      .notNull()
      .default('template'),
    /** The type and version tested (null for a confirmation). */
    typeKey: text('type_key'),
    version: integer('version'),
    to: text('to').notNull(),
    subject: text('subject').notNull(),
    html: text('html').notNull(),
    text: text('text').notNull(),
    status: text('status', { enum: ['accepted', 'sent', 'failed'] })
      .notNull()
      .default('accepted'),
    response: text('response'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [index('test_sends_tenant_created_idx').on(t.tenantId, t.createdAt)],
);

/**
 * Addresses a tenant may send test messages to: each confirmed by the code mailed to it, so a
 * test send only reaches a mailbox whose reader agreed. Stored normalised (lower-case, trimmed).
 */
export const testRecipients = pgTable(
  'test_recipients',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    tenantId: text('tenant_id')
      .notNull()
      .references(() => tenants.id, { onDelete: 'cascade' }),
    email: text('email').notNull(),
    /** SHA-256 of the code last mailed (null once confirmed). */
    codeHash: text('code_hash'),
    codeExpiresAt: timestamp('code_expires_at', { withTimezone: true }),
    /** Wrong codes given for the current one; past the limit a new code must be asked for. */
    failedAttempts: integer('failed_attempts').notNull().default(0),
    confirmedAt: timestamp('confirmed_at', { withTimezone: true }),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [uniqueIndex('test_recipients_tenant_email_idx').on(t.tenantId, t.email)],
);
