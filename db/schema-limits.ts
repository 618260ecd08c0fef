import { doublePrecision, integer, pgTable, primaryKey, text, timestamp } from 'drizzle-orm/pg-core';
import { tenants } from './schema-tenants.js';

// A fair share per tenant: the API's rate limits, set per tenant by operators, and the token
// buckets every API process takes from (take_rate_tokens(), db/migrations, one atomic statement).

/** An operator's limits for one tenant; a null column falls back to the API's default (RATE_LIMIT_*). */
export const tenantRateLimits = pgTable('tenant_rate_limits', {
  tenantId: text('tenant_id')
    .primaryKey()
    .references(() => tenants.id, { onDelete: 'cascade' }),
  requestsPerSecond: integer('requests_per_second'),
  requestsBurst: integer('requests_burst'),
  notificationsPerSecond: integer('notifications_per_second'),
  notificationsBurst: integer('notifications_burst'),
  updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
});

/** One token bucket per tenant and kind ('requests', 'notifications'); UNLOGGED: losing it in a crash only refills it. */
export const rateBuckets = pgTable(
  'rate_buckets',
  {
    tenantId: text('tenant_id').notNull(),
    kind: text('kind').notNull(),
    tokens: doublePrecision('tokens').notNull(),
    refilledAt: timestamp('refilled_at', { withTimezone: true }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.tenantId, t.kind] })],
);
