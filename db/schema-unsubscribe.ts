import { index, pgTable, text, timestamp, uuid } from 'drizzle-orm/pg-core';
import { createdAt } from './columns.js';
import { tenants } from './schema-tenants.js';
import { users } from './schema-users.js';

// One-click unsubscribe links: opaque tokens, stored only as their SHA-256 (a database dump holds
// no usable link), revocable, and revoked when the user subscribes to the category again.

export const unsubscribeTokens = pgTable(
  'unsubscribe_tokens',
  {
    /** SHA-256 of the token, hex: the only way a link is looked up. */
    tokenHash: text('token_hash').primaryKey(),
    tenantId: text('tenant_id')
      .notNull()
      .references(() => tenants.id, { onDelete: 'cascade' }),
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    categoryKey: text('category_key').notNull(),
    createdAt: createdAt(),
    expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
    /** Set when the link was used, revoked by the tenant, or the user subscribed again. */
    revokedAt: timestamp('revoked_at', { withTimezone: true }),
  },
  (t) => [index('unsubscribe_tokens_user_category').on(t.userId, t.categoryKey)],
);
