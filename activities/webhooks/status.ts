import { and, eq } from 'drizzle-orm';
import { categories, notifications, tenants, users } from '../../db/schema.js';
import { appendAudit } from '../../domain/audit/append.js';
import type { ActivityDeps } from '../deps.js';
import { permanent, transient } from '../failures.js';
import type { StatusWebhookOutcome } from '../../domain/notifications/status.js';
import { postSigned } from '../../domain/webhooks/post.js';
import { webhookSecretOf } from '../../domain/webhooks/tenant-secret.js';

export function statusWebhookActivities({ db, secrets, egress }: ActivityDeps) {
  return {
    /**
     * Posts one notification outcome to the tenant's status webhook, signed with the tenant's
     * secret; throws (and is retried with backoff) until the tenant acknowledges with a 2xx.
     * The body carries ids and the outcome only, never an address.
     */
    async postStatusWebhook(input: {
      tenantId: string;
      notificationId: string;
      outcome: StatusWebhookOutcome;
      at: string;
    }): Promise<{ posted: boolean }> {
      const [row] = await db
        .select({
          url: tenants.statusWebhookUrl,
          userId: users.externalId,
          type: notifications.type,
          category: notifications.categoryKey,
          channels: notifications.deliveredChannels,
          mandatory: categories.mandatory,
          reason: notifications.error,
        })
        .from(notifications)
        .innerJoin(tenants, eq(tenants.id, notifications.tenantId))
        .innerJoin(users, eq(users.id, notifications.userId))
        .innerJoin(categories, and(eq(categories.tenantId, notifications.tenantId), eq(categories.key, notifications.categoryKey)))
        .where(eq(notifications.id, input.notificationId));
      if (!row?.url) return { posted: false };
      // A required alert that reached no channel is the tenant's to act on (call the user, ...): its own event, with why.
      const undeliverable = row.mandatory && (input.outcome === 'failed' || input.outcome === 'suppressed');
      const result = await postSigned(
        row.url,
        await webhookSecretOf(db, secrets, input.tenantId),
        {
          type: undeliverable ? 'notification.undeliverable' : 'notification.status',
          ...(undeliverable ? { event: 'undeliverable', reason: row.reason } : {}),
          notificationId: input.notificationId,
          userId: row.userId,
          notificationType: row.type,
          category: row.category,
          outcome: input.outcome,
          deliveredChannels: row.channels,
          at: input.at,
        },
        { egress },
      );
      if (result.refused) {
        // A URL into our own network is not retried: the tenant must change it.
        await appendAudit(db, {
          tenantId: input.tenantId,
          notificationId: input.notificationId,
          step: 'webhook.refused',
          detail: { outcome: input.outcome, reason: 'the webhook URL resolves to a non-public address' },
        });
        throw permanent('WebhookAddressRefused', 'The status webhook URL resolves to a non-public address');
      }
      if (!result.ok) throw transient('WebhookNotAcknowledged', `Tenant webhook answered ${result.status ?? result.error}`);
      await appendAudit(db, {
        tenantId: input.tenantId,
        notificationId: input.notificationId,
        step: 'webhook.delivered',
        detail: { outcome: input.outcome, status: result.status },
      });
      return { posted: true };
    },
  };
}
