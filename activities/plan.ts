import { and, count, eq } from 'drizzle-orm';
import { categories, notifications, preferences, pushDevices, users } from '../db/schema.js';
import type { Channel } from '../workflows/types.js';
import { appendAudit } from './audit.js';
import type { ActivityDeps } from './deps.js';
import { permanent } from './failures.js';

export type DeliveryPlan =
  | { kind: 'send'; channels: Channel[]; fallback: Channel[] }
  | { kind: 'skipped'; reason: 'no_opt_in' | 'opted_out' | 'no_reachable_channel' };

interface PlanFacts {
  available: Channel[];
  defaults: Channel[];
  chosen: Channel[] | null;
  mandatory: boolean;
  requiresOptIn: boolean;
  optedIn: boolean;
  allowFallback: boolean;
}

/**
 * Channel choice, as a pure function of the facts: the user's choice, else the category default;
 * a mandatory category always reaches the user; an opt-in category needs a recorded opt-in.
 */
export function decideChannels(f: PlanFacts): DeliveryPlan {
  if (f.requiresOptIn && !f.optedIn) return { kind: 'skipped', reason: 'no_opt_in' };
  const wanted = f.chosen ?? f.defaults;
  let channels = wanted.filter((c) => f.available.includes(c));
  if (channels.length === 0 && f.mandatory) {
    const byDefault = f.defaults.filter((c) => f.available.includes(c));
    channels = (byDefault.length > 0 ? byDefault : f.available).slice(0, 1);
  }
  if (channels.length === 0) {
    if (wanted.length === 0) return { kind: 'skipped', reason: 'opted_out' };
    // Wanted a channel the user can't be reached on (no device yet): the other one serves, if allowed.
    const other = f.allowFallback ? f.available.slice(0, 1) : [];
    if (other.length === 0) return { kind: 'skipped', reason: 'no_reachable_channel' };
    channels = other;
  }
  const fallback = f.allowFallback || f.mandatory ? f.available.filter((c) => !channels.includes(c)) : [];
  return { kind: 'send', channels, fallback };
}

/** The channel decision from the columns planDelivery and prepareDelivery read. */
export function planFromRow(row: {
  hasEmail: boolean;
  devices: number;
  defaults: unknown;
  chosen: unknown;
  mandatory: boolean;
  requiresOptIn: boolean;
  optedInAt: Date | null;
  allowFallback: boolean;
}): { plan: DeliveryPlan; available: Channel[] } {
  const available: Channel[] = [];
  if (row.hasEmail) available.push('email');
  if (row.devices > 0) available.push('push');
  const plan = decideChannels({
    available,
    defaults: row.defaults as Channel[],
    chosen: (row.chosen as Channel[] | null) ?? null,
    mandatory: row.mandatory,
    requiresOptIn: row.requiresOptIn,
    optedIn: row.optedInAt !== null,
    allowFallback: row.allowFallback,
  });
  return { plan, available };
}

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
