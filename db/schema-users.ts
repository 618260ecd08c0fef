import { boolean, integer, jsonb, pgTable, primaryKey, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import type { DigestSpec } from '../lib/digest-spec.js';
import type { VariableSpec } from '../templates/version-types.js';
import { createdAt } from './columns.js';
import { tenants } from './schema-tenants.js';

// A tenant's users and devices, the categories and notification types it defines, and users' preferences.

/** An end user of a tenant. `externalId` is the app's own user id. */
export const users = pgTable(
  'users',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    tenantId: text('tenant_id')
      .notNull()
      .references(() => tenants.id, { onDelete: 'cascade' }),
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
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    token: text('token').notNull(),
    createdAt: createdAt(),
  },
  (t) => [uniqueIndex('push_devices_user_token_idx').on(t.userId, t.token)],
);

/** Per-tenant categories: defaults, and the rules that preferences can't override. */
export const categories = pgTable(
  'categories',
  {
    tenantId: text('tenant_id')
      .notNull()
      .references(() => tenants.id, { onDelete: 'cascade' }),
    key: text('key').notNull(),
    defaultChannels: text('default_channels').array().notNull(),
    /** Always reaches the user on at least one channel (security). */
    mandatory: boolean('mandatory').notNull().default(false),
    /** Sent only to users with a recorded opt-in (marketing). */
    requiresOptIn: boolean('requires_opt_in').notNull().default(false),
    /** May use a channel the user did not choose when the chosen one fails for good. */
    allowFallback: boolean('allow_fallback').notNull().default(true),
    /** Display name per locale, for preference pages. */
    label: jsonb('label').$type<Record<string, string>>().notNull().default({}),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.key] })],
);

/** Notification types a tenant may trigger; their content is in template_versions (db/schema-templates.ts). */
export const notificationTypes = pgTable(
  'notification_types',
  {
    tenantId: text('tenant_id')
      .notNull()
      .references(() => tenants.id, { onDelete: 'cascade' }),
    key: text('key').notNull(),
    categoryKey: text('category_key').notNull(),
    /** name -> { type, required }: what `data` must carry (checked when a notification is triggered). */
    variables: jsonb('variables').$type<Record<string, VariableSpec>>().notNull().default({}),
    /** The version that sends; null until one is published. Read in the accept statement, so a publish counts at once. */
    publishedVersion: integer('published_version'),
    /** Its digest declaration (lib/digest-spec.ts); null: each notification goes on its own. */
    digest: jsonb('digest').$type<DigestSpec>(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.key] })],
);

/** A user's channel choice per category, and the recorded opt-in where one is needed. */
export const preferences = pgTable(
  'preferences',
  {
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    categoryKey: text('category_key').notNull(),
    channels: text('channels').array().notNull(),
    optedInAt: timestamp('opted_in_at', { withTimezone: true }),
    /** "each time" or "daily digest" for this category; null: as the type declares. */
    frequency: text('frequency', { enum: ['each', 'digest'] }),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.userId, t.categoryKey] })],
);
