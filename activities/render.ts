import { and, eq } from 'drizzle-orm';
import { categories, notifications, renderedMessages, tenants, users } from '../db/schema.js';
import { renderEmail, renderPush, resolveLocale, TemplateError } from '../templates/index.js';
import type { Channel } from '../workflows/types.js';
import { appendAudit } from './audit.js';
import type { ActivityDeps } from './deps.js';
import { permanent } from './failures.js';
import { unsubscribeUrlFor } from './feedback/list-unsubscribe.js';

export function renderActivities({ db, secrets, publicUrl }: ActivityDeps) {
  return {
    /**
     * Renders the message in the user's language and stores it in Postgres; the workflow
     * history keeps only the fact that it was rendered, not the content.
     */
    async renderMessage({ notificationId, channel }: { notificationId: string; channel: Channel }): Promise<{ locale: string }> {
      const [row] = await db
        .select({
          tenantId: notifications.tenantId,
          tenantName: tenants.name,
          type: notifications.type,
          data: notifications.data,
          locale: users.locale,
          timezone: users.timezone,
          userId: notifications.userId,
          category: notifications.categoryKey,
          mandatory: categories.mandatory,
        })
        .from(notifications)
        .innerJoin(users, eq(users.id, notifications.userId))
        .innerJoin(tenants, eq(tenants.id, notifications.tenantId))
        .innerJoin(categories, and(eq(categories.tenantId, notifications.tenantId), eq(categories.key, notifications.categoryKey)))
        .where(eq(notifications.id, notificationId));
      if (!row) throw permanent('NotFound', `Notification ${notificationId} not found`);
      const locale = resolveLocale(row.locale);
      const data = row.data as Record<string, unknown>;
      // Non-mandatory categories get a one-click unsubscribe link in the footer; security alerts none.
      const unsubscribeUrl = channel === 'email' ? unsubscribeUrlFor({ secrets, publicUrl }, row) : undefined;
      const ctx = { tenantName: row.tenantName, timezone: row.timezone, unsubscribeUrl };
      let content: { subject: string; html: string | null; text: string };
      try {
        if (channel === 'email') {
          content = await renderEmail(row.type, locale, data, ctx);
        } else {
          const push = renderPush(row.type, locale, data, ctx);
          content = { subject: push.title, html: null, text: push.body };
        }
      } catch (err) {
        if (err instanceof TemplateError) throw permanent('TemplateError', `${err.code}: ${err.message}`);
        throw err;
      }
      await db.transaction(async (tx) => {
        await tx
          .insert(renderedMessages)
          .values({ notificationId, channel, locale, ...content })
          .onConflictDoUpdate({ target: [renderedMessages.notificationId, renderedMessages.channel], set: { locale, ...content } });
        await appendAudit(tx, { tenantId: row.tenantId, notificationId, step: `${channel}.rendered`, detail: { locale, type: row.type } });
      });
      return { locale };
    },
  };
}
