import { Context } from '@temporalio/activity';
import { and, eq, inArray, sql } from 'drizzle-orm';
import { auditEvents, categories, notificationSchedules, notifications, preferences, renderedMessages, tenants, users } from '../db/schema.js';
import { quietUntil, type QuietWindow } from '../domain/notifications/quiet-hours.js';
import type { ActivityDeps } from './deps.js';
import { permanent, transient } from './failures.js';
import { planFromRow, type DeliveryPlan } from '../domain/notifications/plan.js';
import { renderColumns, renderContent, type RenderedContent } from '../domain/notifications/render.js';

/** Tries before a missing row counts as never recorded: about 15 s with the workflow's retry policy. */
const ROW_WAIT_ATTEMPTS = 6;

export function prepareActivities({ db, secrets, publicUrl }: ActivityDeps) {
  // Built once: drizzle's query building costs more CPU than the query itself on this path.
  const facts = db
    .select({
      ...renderColumns,
      hasEmail: sql<boolean>`${users.email} is not null`,
      devices: sql<number>`(select count(*)::int from push_devices d where d.user_id = ${notifications.userId})`,
      defaults: categories.defaultChannels,
      allowFallback: categories.allowFallback,
      chosen: preferences.channels,
      optedInAt: preferences.optedInAt,
      timezone: users.timezone,
      // The user's own quiet hours, else the tenant's default (the row without a user).
      quiet: sql<QuietWindow | null>`(select json_build_object('starts', q.starts, 'ends', q.ends) from quiet_hours q
        where q.tenant_id = ${notifications.tenantId} and (q.user_id = ${notifications.userId} or q.user_id is null)
        order by q.user_id nulls last limit 1)`,
    })
    .from(notifications)
    .innerJoin(users, eq(users.id, notifications.userId))
    .innerJoin(tenants, eq(tenants.id, notifications.tenantId))
    .innerJoin(categories, and(eq(categories.tenantId, notifications.tenantId), eq(categories.key, notifications.categoryKey)))
    .leftJoin(preferences, and(eq(preferences.userId, notifications.userId), eq(preferences.categoryKey, notifications.categoryKey)))
    .where(eq(notifications.id, sql.placeholder('id')))
    .prepare('prepare_delivery');
  return {
    /**
     * The channel plan and renderMessage in one step: one read for the user's reachability,
     * preference and the render facts, the channels decided, each chosen channel rendered, and
     * one write (status, rendered messages, audit steps) in a single statement. Two round trips
     * to Postgres instead of eleven, and one local activity instead of two (see BENCHMARKS.md).
     * Fallback channels are rendered by renderMessage only when they are needed.
     */
    async prepareDelivery({ notificationId }: { notificationId: string }): Promise<DeliveryPlan> {
      const [row] = await facts.execute({ id: notificationId });
      if (!row) {
        // The API starts the workflow before its row commits (so a failed start leaves no row):
        // the first tries may come a moment early. A row that never commits ends the workflow
        // without sending anything.
        if (Context.current().info.attempt < ROW_WAIT_ATTEMPTS)
          throw transient('NotYetRecorded', `Notification ${notificationId} is not recorded yet`);
        throw permanent('NotFound', `Notification ${notificationId} not found`);
      }
      const { plan: decided, available } = planFromRow(row);
      // Inside the user's quiet hours, only mandatory categories go now; the rest wait for the end.
      const notBefore = decided.kind === 'send' && !row.mandatory ? quietUntil(Date.now(), row.timezone, row.quiet) : undefined;
      const plan: DeliveryPlan = notBefore ? ({ ...decided, notBefore } as DeliveryPlan) : decided;
      const rendered: (RenderedContent & { templateVersion: number })[] =
        plan.kind === 'send' ? await Promise.all(plan.channels.map((c) => renderContent({ db, secrets, publicUrl }, c, row))) : [];

      const audit = [
        plan.kind === 'send'
          ? { step: 'channels.decided', detail: { channels: plan.channels, fallback: plan.fallback, available } }
          : { step: 'skipped', detail: { reason: plan.reason, available } },
        ...rendered.map((r) => ({ step: `${r.channel}.rendered`, detail: { locale: r.locale, type: row.type, templateVersion: r.templateVersion } })),
        ...(notBefore ? [{ step: 'scheduled', detail: { reason: 'quiet-hours', sendAt: new Date(notBefore).toISOString() } }] : []),
      ];
      const status = db
        .update(notifications)
        .set({ status: notBefore ? 'scheduled' : 'running', channels: plan.kind === 'send' ? plan.channels : [], updatedAt: new Date() })
        // A stale try of this local activity (its workflow task retried while PostgreSQL was away)
        // may land after the notification finished: it must not show it running again.
        .where(and(eq(notifications.id, notificationId), inArray(notifications.status, ['accepted', 'running', 'scheduled'])));
      if (notBefore) {
        await db
          .insert(notificationSchedules)
          .values({ notificationId, sendAt: new Date(notBefore), reason: 'quiet-hours' })
          .onConflictDoUpdate({ target: notificationSchedules.notificationId, set: { sendAt: new Date(notBefore), reason: 'quiet-hours' } });
      }
      const content = rendered.length
        ? db
            .insert(renderedMessages)
            .values(rendered.map(({ templateVersion: _, ...r }) => ({ notificationId, ...r })))
            .onConflictDoUpdate({
              target: [renderedMessages.notificationId, renderedMessages.channel],
              set: { locale: sql`excluded.locale`, subject: sql`excluded.subject`, html: sql`excluded.html`, text: sql`excluded.text` },
            })
        : undefined;
      const steps = db.insert(auditEvents).values(audit.map((a) => ({ tenantId: row.tenantId, notificationId, ...a })));
      // One statement, so one round trip and all-or-nothing without BEGIN/COMMIT.
      await db.execute(
        content
          ? sql`with s as (${status.getSQL()}), c as (${content.getSQL()}) ${steps.getSQL()}`
          : sql`with s as (${status.getSQL()}) ${steps.getSQL()}`,
      );
      return plan;
    },

    /** A scheduled notification's time has come: it shows running again. */
    async resumeScheduled({ notificationId }: { notificationId: string }): Promise<void> {
      await db
        .update(notifications)
        .set({ status: 'running', updatedAt: new Date() })
        .where(and(eq(notifications.id, notificationId), eq(notifications.status, 'scheduled')));
    },
  };
}
