import { pgTable, text, timestamp, unique, uuid } from 'drizzle-orm/pg-core';
import { notifications } from './schema-notifications.js';
import { tenants } from './schema-tenants.js';
import { users } from './schema-users.js';

// When a notification may go out: quiet hours (per user, with a tenant default) and scheduled sends.

/**
 * A quiet window in the user's own timezone ("22:00" to "07:00"); a row without a user is the
 * tenant's default. Only mandatory categories are sent inside it.
 */
export const quietHours = pgTable(
  'quiet_hours',
  {
    tenantId: text('tenant_id')
      .notNull()
      .references(() => tenants.id, { onDelete: 'cascade' }),
    userId: uuid('user_id').references(() => users.id, { onDelete: 'cascade' }),
    starts: text('starts').notNull(),
    ends: text('ends').notNull(),
  },
  (t) => [unique('quiet_hours_tenant_user').on(t.tenantId, t.userId).nullsNotDistinct()],
);

/** A notification held until a time: the app's sendAt, or the end of the user's quiet hours. */
export const notificationSchedules = pgTable('notification_schedules', {
  notificationId: uuid('notification_id')
    .primaryKey()
    .references(() => notifications.id, { onDelete: 'cascade' }),
  sendAt: timestamp('send_at', { withTimezone: true }).notNull(),
  reason: text('reason', { enum: ['send-at', 'quiet-hours'] }).notNull(),
});
