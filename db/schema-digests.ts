import { index, integer, pgTable, text, timestamp, uuid } from 'drizzle-orm/pg-core';
import { createdAt } from './columns.js';
import { notifications } from './schema-notifications.js';
import { users } from './schema-users.js';

// Digests: the items waiting in a window, and each digest that went out. Items live here, not in
// the digest workflow's history, so a digest of thousands keeps a small history.

/** One accepted notification waiting for (or included in) a digest; exactly one row per notification. */
export const digestItems = pgTable(
  'digest_items',
  {
    notificationId: uuid('notification_id')
      .primaryKey()
      .references(() => notifications.id, { onDelete: 'cascade' }),
    tenantId: text('tenant_id').notNull(),
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    /** The digest workflow that collects it (workflows/ids.ts digestWorkflowId). */
    workflowId: text('workflow_id').notNull(),
    /** The digest notification it went into; null while it waits. Set once, by the claim. */
    digestId: uuid('digest_id').references(() => notifications.id, { onDelete: 'set null' }),
    createdAt: createdAt(),
  },
  (t) => [index('digest_items_pending_idx').on(t.workflowId, t.createdAt), index('digest_items_digest_idx').on(t.digestId)],
);

/** A digest notification: the row in `notifications` that sends the list, and how many items it holds. */
export const digests = pgTable('digests', {
  id: uuid('id')
    .primaryKey()
    .references(() => notifications.id, { onDelete: 'cascade' }),
  tenantId: text('tenant_id').notNull(),
  workflowId: text('workflow_id').notNull(),
  itemCount: integer('item_count').notNull(),
  closedAt: timestamp('closed_at', { withTimezone: true }).notNull().defaultNow(),
});
