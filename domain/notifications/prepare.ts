import { and, eq, inArray, sql } from 'drizzle-orm';
import type { SecretBox } from '../../config/secrets.js';
import type { Db } from '../../db/client.js';
import { notificationSchedules, notifications, renderedMessages } from '../../db/schema.js';
import { failedStop, retryStop, stopping, type Stop } from '../failures/refusal.js';
import { writeSteps, type Step } from './audit-steps.js';
import { notificationFacts } from './facts.js';
import { planFromRow, type DeliveryPlan } from './plan.js';
import { quietUntil } from './quiet-hours.js';
import { renderContent, type RenderedContent } from './render.js';
import type { Channel } from './status.js';

/** Tries before a missing row counts as never recorded: about 15 s with the workflow's retry policy. */
const ROW_WAIT_ATTEMPTS = 6;

export interface PrepareDeps {
  db: Db;
  secrets: SecretBox;
  publicUrl: string;
}

/** A notification's preparation: its channels decided and rendered, or the Stop that ends it. */
export function preparation({ db, secrets, publicUrl }: PrepareDeps) {
  const facts = notificationFacts(db);
  const renderDeps = { db, secrets, publicUrl };

  /**
   * The channel plan and the render in one step: one read for the user's reachability,
   * preference and the render facts, the channels decided, each chosen channel rendered, and
   * one write (status, rendered messages, audit steps) in a single statement. Two round trips
   * to Postgres instead of eleven (see BENCHMARKS.md). Fallback channels are rendered by
   * renderFallback only when they are needed.
   */
  async function prepare(notificationId: string, attempt: number): Promise<DeliveryPlan | Stop> {
    const row = await facts(notificationId);
    if (!row) {
      // The API starts the workflow before its row commits (so a failed start leaves no row):
      // the first tries may come a moment early. A row that never commits ends the workflow
      // without sending anything.
      if (attempt < ROW_WAIT_ATTEMPTS) return retryStop('NotYetRecorded', `Notification ${notificationId} is not recorded yet`);
      return failedStop('NotFound', `Notification ${notificationId} not found`);
    }
    const { plan: decided, available } = planFromRow(row);
    // Inside the user's quiet hours, only mandatory categories go now; the rest wait for the end.
    const notBefore = decided.kind === 'send' && !row.mandatory ? quietUntil(Date.now(), row.timezone, row.quiet) : undefined;
    const rendered: (RenderedContent & { templateVersion: number })[] =
      decided.kind === 'send' ? await Promise.all(decided.channels.map((c) => renderContent(renderDeps, c, row))) : [];
    const plan: DeliveryPlan =
      decided.kind === 'send'
        ? {
            ...decided,
            ...(notBefore ? { notBefore, quietEnd: localClock(notBefore, row.timezone) } : {}),
            templateVersions: Object.fromEntries(rendered.map((r) => [r.channel, r.templateVersion])),
          }
        : decided;

    const at = { tenantId: row.tenantId, notificationId };
    const audit: Step[] = [
      plan.kind === 'send'
        ? { ...at, step: 'channels.decided', detail: { channels: plan.channels, fallback: plan.fallback, available } }
        : { ...at, step: 'skipped', detail: { reason: plan.reason, available } },
      ...rendered.map((r): Step => ({
        ...at,
        step: `${r.channel}.rendered`,
        detail: { locale: r.locale, type: row.type, templateVersion: r.templateVersion },
      })),
      ...(notBefore ? [{ ...at, step: 'scheduled', detail: { reason: 'quiet-hours', sendAt: new Date(notBefore).toISOString() } } as const] : []),
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
    const steps = writeSteps(db, audit);
    // One statement, so one round trip and all-or-nothing without BEGIN/COMMIT.
    await db.execute(
      content
        ? sql`with s as (${status.getSQL()}), c as (${content.getSQL()}) ${steps.getSQL()}`
        : sql`with s as (${status.getSQL()}) ${steps.getSQL()}`,
    );
    return plan;
  }

  /**
   * Renders a fallback channel's message in the user's language and stores it in Postgres; the
   * workflow history keeps only the fact that it was rendered, not the content.
   */
  async function renderFallback(notificationId: string, channel: Channel): Promise<{ locale: string; templateVersion: number } | Stop> {
    const row = await facts(notificationId);
    if (!row) return failedStop('NotFound', `Notification ${notificationId} not found`);
    const { locale, templateVersion, ...content } = await renderContent(renderDeps, channel, row);
    await db.transaction(async (tx) => {
      await tx
        .insert(renderedMessages)
        .values({ notificationId, locale, ...content })
        .onConflictDoUpdate({ target: [renderedMessages.notificationId, renderedMessages.channel], set: { locale, ...content } });
      await writeSteps(tx, [
        { tenantId: row.tenantId, notificationId, step: `${channel}.rendered`, detail: { locale, type: row.type, templateVersion } },
      ]);
    });
    return { locale, templateVersion };
  }

  return {
    prepare: stopping(prepare),
    renderFallback: stopping(renderFallback),

    /** A scheduled notification's time has come: it shows running again. */
    async resume(notificationId: string): Promise<void> {
      await db
        .update(notifications)
        .set({ status: 'running', updatedAt: new Date() })
        .where(and(eq(notifications.id, notificationId), eq(notifications.status, 'scheduled')));
    },
  };
}

/** hh:mm of an instant on the user's clock (an unknown zone: UTC). */
function localClock(at: number, timezone: string | null): string {
  const format = (timeZone: string) =>
    new Intl.DateTimeFormat('en-GB', { timeZone, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).format(at);
  try {
    return format(timezone ?? 'UTC');
  } catch {
    return format('UTC');
  }
}
