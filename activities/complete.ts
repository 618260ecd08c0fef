import { eq } from 'drizzle-orm';
import type { Db } from '../db/client.js';
import { auditEvents, notifications, tenants } from '../db/schema.js';
import type { DeliveryStatus } from '../workflows/types.js';
import { appendAudit, type AuditEntry } from './audit.js';
import type { ActivityDeps } from './deps.js';

export interface Completion {
  notificationId: string;
  tenantId: string;
  status: DeliveryStatus;
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

export function completionActivities({ db }: ActivityDeps) {
  return {
    /** Records the final status on the notification row and closes its audit trail. */
    async completeNotification(input: Completion): Promise<{ statusWebhook: boolean }> {
      return db.transaction(async (tx) => {
        await finalStatusUpdate(tx, input);
        await tx.insert(auditEvents).values(finalAuditEntry(input));
        // Tells the workflow whether the tenant wants the outcome posted to its status webhook.
        const [tenant] = await tx.select({ url: tenants.statusWebhookUrl }).from(tenants).where(eq(tenants.id, input.tenantId));
        return { statusWebhook: Boolean(tenant?.url) };
      });
    },

    /** A workflow-level step (fallback, cancel) appended to the audit trail. */
    async recordAudit(entry: AuditEntry): Promise<void> {
      await appendAudit(db, entry);
    },
  };
}
