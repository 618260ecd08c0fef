import { eq } from 'drizzle-orm';
import type { Db } from '../../db/client.js';
import { notifications, tenants as tenantsTable } from '../../db/schema.js';
import { writeSteps, type Step } from './audit-steps.js';
import type { NotificationStatus } from './status.js';

export interface Completion {
  notificationId: string;
  tenantId: string;
  status: NotificationStatus;
  deliveredChannels: string[];
  reason?: string;
}

/**
 * Records the final status on the notification row and closes its audit trail, in one
 * transaction; says whether the tenant wants the outcome posted to its status webhook.
 */
export async function completeNotification(db: Db, input: Completion): Promise<{ statusWebhook: boolean }> {
  return db.transaction(async (tx) => {
    await finalStatusUpdate(tx, input);
    await writeSteps(tx, [finalStep(input)]);
    const [tenant] = await tx.select({ url: tenantsTable.statusWebhookUrl }).from(tenantsTable).where(eq(tenantsTable.id, input.tenantId));
    return { statusWebhook: Boolean(tenant?.url) };
  });
}

/** The final status on the notification row, as a statement the caller runs (alone or inside its own). */
export function finalStatusUpdate(db: Pick<Db, 'update'>, c: Completion) {
  return db
    .update(notifications)
    .set({ status: c.status, deliveredChannels: c.deliveredChannels, error: c.reason ?? null, updatedAt: new Date() })
    .where(eq(notifications.id, c.notificationId));
}

/** The audit step that closes a notification's trail. */
export function finalStep(c: Completion): Step {
  return {
    tenantId: c.tenantId,
    notificationId: c.notificationId,
    step: `notification.${c.status}`,
    detail: { deliveredChannels: c.deliveredChannels, ...(c.reason ? { reason: c.reason } : {}) },
  };
}
