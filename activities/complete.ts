import { eq } from 'drizzle-orm';
import { notifications, tenants } from '../db/schema.js';
import type { DeliveryStatus } from '../workflows/types.js';
import { appendAudit, type AuditEntry } from './audit.js';
import type { ActivityDeps } from './deps.js';

export function completionActivities({ db }: ActivityDeps) {
  return {
    /** Records the final status on the notification row and closes its audit trail. */
    async completeNotification(input: {
      notificationId: string;
      tenantId: string;
      status: DeliveryStatus;
      deliveredChannels: string[];
      reason?: string;
    }): Promise<{ statusWebhook: boolean }> {
      return db.transaction(async (tx) => {
        await tx
          .update(notifications)
          .set({ status: input.status, deliveredChannels: input.deliveredChannels, error: input.reason ?? null, updatedAt: new Date() })
          .where(eq(notifications.id, input.notificationId));
        await appendAudit(tx, {
          tenantId: input.tenantId,
          notificationId: input.notificationId,
          step: `notification.${input.status}`,
          detail: { deliveredChannels: input.deliveredChannels, ...(input.reason ? { reason: input.reason } : {}) },
        });
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
