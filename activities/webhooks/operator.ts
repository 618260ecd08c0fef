import { eq, sql } from 'drizzle-orm';
import { alarms } from '../../db/schema.js';
import type { ActivityDeps } from '../deps.js';
import { permanent, transient } from '../failures.js';
import { defaultMonitoring } from '../../domain/monitor/settings.js';
import { trustedEgress } from '../../domain/webhooks/egress.js';
import { postSigned } from '../../domain/webhooks/post.js';

// The operator's own URL (OPERATOR_WEBHOOK_URL) may well be on the private network.
const operatorEgress = trustedEgress();

export function operatorWebhookActivities({ db, monitoring = defaultMonitoring }: ActivityDeps) {
  return {
    /** Tells the operator's webhook about an alarm; throws (and is retried) until a 2xx acknowledges it. */
    async notifyOperator({ alarmId }: { alarmId: string }): Promise<{ notified: boolean }> {
      const hook = monitoring.operatorWebhook;
      if (!hook) return { notified: false };
      const [alarm] = await db.select().from(alarms).where(eq(alarms.id, alarmId));
      if (!alarm) throw permanent('NotFound', `Alarm ${alarmId} not found`);
      if (alarm.notifiedAt) return { notified: true };
      // An operator already acknowledged it in the console: nobody needs paging.
      if (alarm.acknowledgedAt) return { notified: false };
      await db
        .update(alarms)
        .set({ notifyAttempts: sql`${alarms.notifyAttempts} + 1` })
        .where(eq(alarms.id, alarmId));
      const result = await postSigned(
        hook.url,
        hook.secret,
        {
          type: 'alarm',
          id: alarm.id,
          kind: alarm.kind,
          severity: alarm.severity,
          scope: alarm.scope,
          message: alarm.message,
          detail: alarm.detail,
          raisedAt: alarm.raisedAt.toISOString(),
          resolvedAt: alarm.resolvedAt?.toISOString() ?? null,
        },
        { egress: operatorEgress },
      );
      if (!result.ok) throw transient('WebhookNotAcknowledged', `Operator webhook answered ${result.status ?? result.error}`);
      await db.update(alarms).set({ notifiedAt: new Date() }).where(eq(alarms.id, alarmId));
      return { notified: true };
    },
  };
}
