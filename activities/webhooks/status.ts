import { writeSteps } from '../../domain/notifications/audit-steps.js';
import { notificationFacts } from '../../domain/notifications/facts.js';
import type { ActivityDeps } from '../deps.js';
import { permanent, transient } from '../failures.js';
import type { StatusWebhookOutcome } from '../../domain/notifications/status.js';
import { postSigned } from '../../domain/webhooks/post.js';
import { webhookSecretOf } from '../../domain/webhooks/tenant-secret.js';

export function statusWebhookActivities({ db, secrets, egress }: ActivityDeps) {
  const facts = notificationFacts(db);
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
      const row = await facts(input.notificationId);
      if (!row?.statusWebhookUrl) return { posted: false };
      // A required alert that reached no channel is the tenant's to act on (call the user, ...): its own event, with why.
      const undeliverable = row.mandatory && (input.outcome === 'failed' || input.outcome === 'suppressed');
      const result = await postSigned(
        row.statusWebhookUrl,
        await webhookSecretOf(db, secrets, input.tenantId),
        {
          type: undeliverable ? 'notification.undeliverable' : 'notification.status',
          ...(undeliverable ? { event: 'undeliverable', reason: row.error } : {}),
          notificationId: input.notificationId,
          userId: row.userExternalId,
          notificationType: row.type,
          category: row.category,
          outcome: input.outcome,
          deliveredChannels: row.deliveredChannels,
          at: input.at,
        },
        { egress },
      );
      if (result.refused) {
        // A URL into our own network is not retried: the tenant must change it.
        await writeSteps(db, [
          {
            tenantId: input.tenantId,
            notificationId: input.notificationId,
            step: 'webhook.refused',
            detail: { outcome: input.outcome, reason: 'the webhook URL resolves to a non-public address' },
          },
        ]);
        throw permanent('WebhookAddressRefused', 'The status webhook URL resolves to a non-public address');
      }
      if (!result.ok) throw transient('WebhookNotAcknowledged', `Tenant webhook answered ${result.status ?? result.error}`);
      await writeSteps(db, [
        {
          tenantId: input.tenantId,
          notificationId: input.notificationId,
          step: 'webhook.delivered',
          detail: { outcome: input.outcome, status: result.status },
        },
      ]);
      return { posted: true };
    },
  };
}
