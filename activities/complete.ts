import { eq } from 'drizzle-orm';
import { auditEvents, tenants } from '../db/schema.js';
import { appendAudit, type AuditEntry } from '../domain/audit/append.js';
import { finalAuditEntry, finalStatusUpdate, type Completion } from '../domain/notifications/completion.js';
import type { ActivityDeps } from './deps.js';

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
