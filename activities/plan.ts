import { and, count, eq } from 'drizzle-orm';
import { categories, notifications, preferences, pushDevices, users } from '../db/schema.js';
import { appendAudit } from '../domain/audit/append.js';
import { permanent } from '../domain/failures/temporal.js';
import { planFromRow, type DeliveryPlan } from '../domain/notifications/plan.js';
import type { ActivityDeps } from './deps.js';

export function planActivities({ db }: ActivityDeps) {
  return {
    /** Loads the user's reachability and preference for this notification's category and decides channels. */
    async planDelivery({ notificationId }: { notificationId: string }): Promise<DeliveryPlan> {
      const [row] = await db
        .select({
          tenantId: notifications.tenantId,
          userId: notifications.userId,
          categoryKey: notifications.categoryKey,
          hasEmail: users.email,
          defaults: categories.defaultChannels,
          mandatory: categories.mandatory,
          requiresOptIn: categories.requiresOptIn,
          allowFallback: categories.allowFallback,
          chosen: preferences.channels,
          optedInAt: preferences.optedInAt,
        })
        .from(notifications)
        .innerJoin(users, eq(users.id, notifications.userId))
        .innerJoin(categories, and(eq(categories.tenantId, notifications.tenantId), eq(categories.key, notifications.categoryKey)))
        .leftJoin(preferences, and(eq(preferences.userId, notifications.userId), eq(preferences.categoryKey, notifications.categoryKey)))
        .where(eq(notifications.id, notificationId));
      if (!row) throw permanent('NotFound', `Notification ${notificationId} not found`);
      const [devices] = await db.select({ n: count() }).from(pushDevices).where(eq(pushDevices.userId, row.userId));
      const { plan, available } = planFromRow({ ...row, hasEmail: Boolean(row.hasEmail), devices: devices?.n ?? 0 });
      await db.transaction(async (tx) => {
        await tx
          .update(notifications)
          .set({ status: 'running', channels: plan.kind === 'send' ? plan.channels : [], updatedAt: new Date() })
          .where(eq(notifications.id, notificationId));
        await appendAudit(tx, {
          tenantId: row.tenantId,
          notificationId,
          step: plan.kind === 'send' ? 'channels.decided' : 'skipped',
          detail: plan.kind === 'send' ? { channels: plan.channels, fallback: plan.fallback, available } : { reason: plan.reason, available },
        });
      });
      return plan;
    },
  };
}
