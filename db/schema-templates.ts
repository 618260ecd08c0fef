import { boolean, integer, jsonb, pgTable, primaryKey, text, timestamp, uuid } from 'drizzle-orm/pg-core';
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

/** A test message (preview sent to a reviewer). The address stays here; the workflow gets the id. */
export const testSends = pgTable('test_sends', {
  id: uuid('id').primaryKey().defaultRandom(),
  tenantId: text('tenant_id')
    .notNull()
    .references(() => tenants.id, { onDelete: 'cascade' }),
  typeKey: text('type_key').notNull(),
  version: integer('version').notNull(),
  to: text('to').notNull(),
  subject: text('subject').notNull(),
  html: text('html').notNull(),
  text: text('text').notNull(),
  status: text('status', { enum: ['accepted', 'sent', 'failed'] })
    .notNull()
    .default('accepted'),
  response: text('response'),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
});
