import { and, eq, sql } from 'drizzle-orm';
import type { Db } from '../../db/client.js';
import { deliveryAttempts, pushDevices } from '../../db/schema.js';
import { writeThroughOutage } from '../../db/unavailable.js';
import { failedStop, retryStop, stopping, type Stop } from '../failures/refusal.js';
import { recordDelivery } from '../metrics/registry.js';
import { sendToDevice } from '../push/fcm-client.js';
import type { PushClients } from '../push/tenant-messaging.js';
import { tenantGate } from './tenant-gate.js';
import { writeSteps } from './audit-steps.js';
import { finalStatusUpdate, finalStep } from './complete.js';
import type { Attempt, SendInput, SendResult } from './delivery.js';
import { notificationFacts } from './facts.js';

/** What the push delivery tells its caller: delivered to at least one device, or a Stop. */
export type PushOutcome = (SendResult & { kind: 'sent'; delivered: number; removed: number }) | Stop;

export interface PushDeps {
  db: Db;
  /** Each tenant's Firebase client; absent: push is disabled, push sends fail for good and e-mail serves instead. */
  push?: PushClients;
}

/**
 * The push delivery of a worker: the rendered text to each of the user's devices through
 * firebase-admin. A retry skips devices already served. UNREGISTERED tokens are removed from the
 * user. Delivered to one device = delivered; only transient failures left = retry; else failed.
 * With `deliveryCompletes`, delivery is the notification's outcome and is recorded here.
 */
export function pushDelivery({ db, push }: PushDeps) {
  const facts = notificationFacts(db);

  async function deliver({ notificationId, deliveryCompletes }: SendInput, attempt: Attempt): Promise<PushOutcome> {
    const row = await facts(notificationId, 'push');
    if (!row) return failedStop('NotFound', `Notification ${notificationId} not found`);
    if (row.title === null || row.body === null) return retryStop('NotRendered', 'The push has not been rendered yet');
    await tenantGate(db, row, notificationId, 'push');
    if (!push) return failedStop('PushDisabled', 'Push is disabled on this engine (no Firebase credentials)');
    // The tenant's own Firebase project; none set up is as final as a disabled engine (e-mail serves instead).
    const client = await push.forTenant(row.tenantId);
    if (!client.ok) return failedStop('PushNotConfigured', client.reason);
    const { messaging } = client;
    const devices = await db.select().from(pushDevices).where(eq(pushDevices.userId, row.userId));
    const served = await db
      .select({ target: deliveryAttempts.target })
      .from(deliveryAttempts)
      .where(
        and(eq(deliveryAttempts.notificationId, notificationId), eq(deliveryAttempts.channel, 'push'), eq(deliveryAttempts.outcome, 'accepted')),
      );
    const servedIds = new Set(served.map((s) => s.target));
    const completed = async (result: { delivered: number; removed: number }): Promise<PushOutcome> => {
      if (!deliveryCompletes) return { kind: 'sent', ...result };
      const completion = { notificationId, tenantId: row.tenantId, status: 'delivered' as const, deliveredChannels: ['push'] };
      await db.execute(sql`with s as (${finalStatusUpdate(db, completion).getSQL()}) ${writeSteps(db, [finalStep(completion)]).getSQL()}`);
      return { kind: 'sent', ...result, completion: { statusWebhook: Boolean(row.statusWebhookUrl) } };
    };
    if (servedIds.size > 0) return completed({ delivered: servedIds.size, removed: 0 });
    if (devices.length === 0) return failedStop('NoPushDevice', 'The user has no push device');

    let delivered = 0;
    let removed = 0;
    let retryAfterMs: number | undefined;
    let anyTransient = false;
    const errors: string[] = [];
    for (const device of devices) {
      const startedAt = new Date();
      const outcome = await attempt.keepAlive(() =>
        sendToDevice(messaging, { token: device.token, title: row.title!, body: row.body!, data: { notificationId } }),
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
              attempt: attempt.number,
              outcome: attemptOutcome,
              target: device.id,
              provider: 'fcm',
              response: outcome.ok ? outcome.messageId : `${outcome.code}: ${outcome.message}`,
              startedAt,
            });
            const detail = { attempt: attempt.number, deviceId: device.id, ...(outcome.ok ? {} : { code: outcome.code }) };
            await writeSteps(tx, [{ tenantId: row.tenantId, notificationId, step: `push.${attemptOutcome}`, detail }]);
            if (!outcome.ok && outcome.tokenInvalid) {
              await tx.delete(pushDevices).where(eq(pushDevices.id, device.id));
              await writeSteps(tx, [
                { tenantId: row.tenantId, notificationId, step: 'push.device_removed', detail: { deviceId: device.id, code: outcome.code } },
              ]);
            }
          }),
        attempt.pause,
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
    return anyTransient ? retryStop('PushTransient', message, retryAfterMs) : failedStop('PushPermanent', message);
  }

  /** Delivers one notification's push; a refusal from deep inside (the tenant gate) comes back as its Stop. */
  return { deliverPush: stopping(deliver) };
}
