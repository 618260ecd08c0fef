import { Context } from '@temporalio/activity';
import { and, eq, sql } from 'drizzle-orm';
import { auditEvents, deliveryAttempts, notifications, pushDevices, renderedMessages, tenants } from '../db/schema.js';
import { appendAudit } from '../domain/audit/append.js';
import { finalAuditEntry, finalStatusUpdate } from '../domain/notifications/completion.js';
import type { ActivityDeps } from './deps.js';
import { permanent, transient } from './failures.js';
import { withHeartbeat } from './heartbeat.js';
import { recordDelivery } from '../domain/metrics/registry.js';
import { sendToDevice } from '../domain/push/fcm-client.js';
import type { SendInput, SendResult } from './send-email.js';
import { tenantGate } from '../domain/tenancy/gate.js';
import { writeThroughOutage } from '../db/unavailable.js';

export function sendPushActivities({ db, messaging }: ActivityDeps) {
  // Built once per worker, like prepareDelivery's read.
  const facts = db
    .select({
      tenantId: notifications.tenantId,
      userId: notifications.userId,
      triggeredAt: notifications.createdAt,
      title: renderedMessages.subject,
      body: renderedMessages.text,
      statusWebhookUrl: tenants.statusWebhookUrl,
      tenantStatus: tenants.status,
      tenantStatusReason: tenants.statusReason,
    })
    .from(notifications)
    .innerJoin(tenants, eq(tenants.id, notifications.tenantId))
    .leftJoin(renderedMessages, and(eq(renderedMessages.notificationId, notifications.id), eq(renderedMessages.channel, 'push')))
    .where(eq(notifications.id, sql.placeholder('id')))
    .prepare('send_push_facts');
  return {
    /**
     * Pushes the rendered text to each of the user's devices through firebase-admin.
     * A retry skips devices already served. UNREGISTERED tokens are removed from the user.
     * Delivered to one device = delivered; only transient failures left = retry; else permanent.
     * With `deliveryCompletes`, delivery is the notification's outcome and is recorded here.
     */
    async sendPush({ notificationId, deliveryCompletes }: SendInput): Promise<SendResult & { delivered: number; removed: number }> {
      const ctx = Context.current();
      const [row] = await facts.execute({ id: notificationId });
      if (!row) throw permanent('NotFound', `Notification ${notificationId} not found`);
      if (row.title === null || row.body === null) throw transient('NotRendered', 'The push has not been rendered yet');
      await tenantGate(db, row, notificationId, 'push');
      if (!messaging) throw permanent('PushDisabled', 'Push is disabled on this engine (no Firebase credentials)');
      const devices = await db.select().from(pushDevices).where(eq(pushDevices.userId, row.userId));
      const served = await db
        .select({ target: deliveryAttempts.target })
        .from(deliveryAttempts)
        .where(
          and(eq(deliveryAttempts.notificationId, notificationId), eq(deliveryAttempts.channel, 'push'), eq(deliveryAttempts.outcome, 'accepted')),
        );
      const servedIds = new Set(served.map((s) => s.target));
      const completed = async (result: { delivered: number; removed: number }) => {
        if (!deliveryCompletes) return result;
        const completion = { notificationId, tenantId: row.tenantId, status: 'delivered' as const, deliveredChannels: ['push'] };
        await db.execute(
          sql`with s as (${finalStatusUpdate(db, completion).getSQL()}) ${db.insert(auditEvents).values(finalAuditEntry(completion)).getSQL()}`,
        );
        return { ...result, completion: { statusWebhook: Boolean(row.statusWebhookUrl) } };
      };
      if (servedIds.size > 0) return completed({ delivered: servedIds.size, removed: 0 });
      if (devices.length === 0) throw permanent('NoPushDevice', 'The user has no push device');

      let delivered = 0;
      let removed = 0;
      let retryAfterMs: number | undefined;
      let anyTransient = false;
      const errors: string[] = [];
      for (const device of devices) {
        const startedAt = new Date();
        const outcome = await withHeartbeat(() =>
          sendToDevice(messaging!, { token: device.token, title: row.title!, body: row.body!, data: { notificationId } }),
        );
        const attemptOutcome = outcome.ok ? 'accepted' : outcome.kind === 'transient' ? 'deferred' : 'failed';
        recordDelivery({ channel: 'push', provider: 'fcm', outcome: attemptOutcome, triggeredAt: row.triggeredAt });
        // A restart of PostgreSQL must not turn a sent push into a failed activity that sends it again.
        await writeThroughOutage(
          () =>
            db.transaction(async (tx) => {
              await tx.insert(deliveryAttempts).values({
                notificationId,
                channel: 'push',
                attempt: ctx.info.attempt,
                outcome: attemptOutcome,
                target: device.id,
                provider: 'fcm',
                response: outcome.ok ? outcome.messageId : `${outcome.code}: ${outcome.message}`,
                startedAt,
              });
              const detail = { attempt: ctx.info.attempt, deviceId: device.id, ...(outcome.ok ? {} : { code: outcome.code }) };
              await appendAudit(tx, { tenantId: row.tenantId, notificationId, step: `push.${attemptOutcome}`, detail });
              if (!outcome.ok && outcome.tokenInvalid) {
                await tx.delete(pushDevices).where(eq(pushDevices.id, device.id));
                await appendAudit(tx, {
                  tenantId: row.tenantId,
                  notificationId,
                  step: 'push.device_removed',
                  detail: { deviceId: device.id, code: outcome.code },
                });
              }
            }),
          (ms) => ctx.sleep(ms).then(() => ctx.heartbeat()),
        );
        if (outcome.ok) {
          delivered++;
          continue;
        }
        if (outcome.tokenInvalid) removed++;
        errors.push(outcome.code);
        if (outcome.kind === 'transient') {
          anyTransient = true;
          retryAfterMs = Math.max(retryAfterMs ?? 0, outcome.retryAfterMs ?? 0) || undefined;
        }
      }
      if (delivered > 0) return completed({ delivered, removed });
      const message = `FCM: ${errors.join(', ')}`;
      throw anyTransient ? transient('PushTransient', message, retryAfterMs) : permanent('PushPermanent', message);
    },
  };
}
