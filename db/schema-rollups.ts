import { date, index, integer, pgTable, primaryKey, smallint, text } from 'drizzle-orm/pg-core';
import { tenants } from './schema-tenants.js';

/**
 * Delivery counts per UTC day, tenant, channel and provider, kept by triggers as attempts,
 * feedback and suppressed sends are recorded (migration delivery_daily), so the console's charts
 * read a few hundred rows instead of every notification. `shard` spreads concurrent writers over
 * several rows of the same day (readers sum them), so busy senders do not queue on one row lock.
 */
export const deliveryDaily = pgTable(
  'delivery_daily',
  {
    day: date('day', { mode: 'string' }).notNull(),
    tenantId: text('tenant_id')
      .notNull()
      .references(() => tenants.id, { onDelete: 'cascade' }),
    channel: text('channel').notNull(),
    /** The mailbox provider of the attempt ('fcm' for push); 'unknown' when none was chosen (a suppressed address). */
    provider: text('provider').notNull(),
    shard: smallint('shard').notNull().default(0),
    /** A channel's message handed to SMTP or FCM for the first time (per device for push). */
    sent: integer('sent').notNull().default(0),
    /** Attempts the receiving server or FCM accepted. */
    delivered: integer('delivered').notNull().default(0),
    /** Attempts answered with a temporary failure (tried again later). */
    deferred: integer('deferred').notNull().default(0),
    /** Attempts refused for good at send, and bounce reports (DSN, provider webhook) received later. */
    bounced: integer('bounced').notNull().default(0),
    complained: integer('complained').notNull().default(0),
    /** E-mails not sent because the address is on the suppression list. */
    suppressed: integer('suppressed').notNull().default(0),
  },
  (t) => [
    primaryKey({ columns: [t.day, t.tenantId, t.channel, t.provider, t.shard] }),
    // One tenant's chart reads its own days, not every tenant's.
    index('delivery_daily_tenant_day_idx').on(t.tenantId, t.day),
  ],
);
