import { and, eq } from 'drizzle-orm';
import { categories, notifications, renderedMessages, tenants, users } from '../db/schema.js';
import { appendAudit } from '../domain/audit/append.js';
import { permanent } from './failures.js';
import { renderColumns, renderContent } from '../domain/notifications/render.js';
import type { Channel } from '../domain/notifications/status.js';
import type { ActivityDeps } from './deps.js';

export function renderActivities({ db, secrets, publicUrl }: ActivityDeps) {
  return {
    /**
     * Renders the message in the user's language and stores it in Postgres; the workflow
     * history keeps only the fact that it was rendered, not the content. (Channels chosen at
     * the start are rendered by prepareDelivery; this serves fallback channels.)
     */
    async renderMessage({ notificationId, channel }: { notificationId: string; channel: Channel }): Promise<{ locale: string }> {
      const [row] = await db
        .select(renderColumns)
        .from(notifications)
        .innerJoin(users, eq(users.id, notifications.userId))
        .innerJoin(tenants, eq(tenants.id, notifications.tenantId))
        .innerJoin(categories, and(eq(categories.tenantId, notifications.tenantId), eq(categories.key, notifications.categoryKey)))
        .where(eq(notifications.id, notificationId));
      if (!row) throw permanent('NotFound', `Notification ${notificationId} not found`);
      const { locale, templateVersion, ...content } = await renderContent({ db, secrets, publicUrl }, channel, row);
      await db.transaction(async (tx) => {
        await tx
          .insert(renderedMessages)
          .values({ notificationId, locale, ...content })
          .onConflictDoUpdate({ target: [renderedMessages.notificationId, renderedMessages.channel], set: { locale, ...content } });
        await appendAudit(tx, {
          tenantId: row.tenantId,
          notificationId,
          step: `${channel}.rendered`,
          detail: { locale, type: row.type, templateVersion },
        });
      });
      return { locale };
    },
  };
}
