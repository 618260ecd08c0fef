import { index, pgTable, text } from 'drizzle-orm/pg-core';
import { at, createdAt } from './columns.js';

/**
 * Operator console sessions, server-side so they can be ended: the cookie holds a random id, this
 * table its SHA-256. Signing out deletes the row; DELETE /v1/admin/console-sessions deletes them all.
 */
export const consoleSessions = pgTable(
  'console_sessions',
  {
    idHash: text('id_hash').primaryKey(),
    createdAt: createdAt(),
    expiresAt: at('expires_at').notNull(),
  },
  (t) => [index('console_sessions_expires_idx').on(t.expiresAt)],
);
