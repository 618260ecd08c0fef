import { eq } from 'drizzle-orm';
import type { Db } from '../../db/client.js';
import { notifications } from '../../db/schema.js';
import type { NotificationStatus } from './status.js';

export interface Completion {
  notificationId: string;
  tenantId: string;
  status: NotificationStatus;
  deliveredChannels: string[];
  reason?: string;
}

/** The final status on the notification row, as a statement the caller runs (alone or inside its own). */
export function finalStatusUpdate(db: Pick<Db, 'update'>, c: Completion) {
  return db
    .update(notifications)
    .set({ status: c.status, deliveredChannels: c.deliveredChannels, error: c.reason ?? null, updatedAt: new Date() })
    .where(eq(notifications.id, c.notificationId));
}

/** The audit step that closes a notification's trail. */
export function finalAuditEntry(c: Completion) {
  return {
    tenantId: c.tenantId,
    notificationId: c.notificationId,
    step: `notification.${c.status}`,
    detail: { deliveredChannels: c.deliveredChannels, ...(c.reason ? { reason: c.reason } : {}) },
  };
}
