import { and, eq } from 'drizzle-orm';
import type { SecretBox } from '../config/secrets.js';
import { categories, notifications, renderedMessages, tenants, users } from '../db/schema.js';
import { renderEmail, renderPush, resolveLocale, TemplateError } from '../templates/index.js';
import type { Channel } from '../workflows/types.js';
import { appendAudit } from './audit.js';
import type { ActivityDeps } from './deps.js';
import { permanent } from './failures.js';
import { unsubscribeUrlFor } from './feedback/list-unsubscribe.js';

/** What rendering one notification needs, read in the caller's own query. */
export interface RenderFacts {
  tenantId: string;
  tenantName: string;
  type: string;
  data: unknown;
  locale: string | null;
  timezone: string;
  userId: string;
  category: string;
  mandatory: boolean;
}

export interface RenderedContent {
  channel: Channel;
  locale: string;
  subject: string;
  html: string | null;
  text: string;
}

/** The message for one channel in the user's language; template problems become a non-retryable TemplateError. */
export async function renderContent(deps: { secrets: SecretBox; publicUrl: string }, channel: Channel, row: RenderFacts): Promise<RenderedContent> {
  const locale = resolveLocale(row.locale);
  const data = row.data as Record<string, unknown>;
  // Non-mandatory categories get a one-click unsubscribe link in the footer; security alerts none.
  const unsubscribeUrl = channel === 'email' ? unsubscribeUrlFor(deps, row) : undefined;
  const ctx = { tenantName: row.tenantName, timezone: row.timezone, unsubscribeUrl };
  try {
    if (channel === 'email') return { channel, locale, ...(await renderEmail(row.type, locale, data, ctx)) };
    const push = renderPush(row.type, locale, data, ctx);
    return { channel, locale, subject: push.title, html: null, text: push.body };
  } catch (err) {
    if (err instanceof TemplateError) throw permanent('TemplateError', `${err.code}: ${err.message}`);
    throw err;
  }
}

/** The columns of a notification's row that rendering needs (joins: users, tenants, categories). */
export const renderColumns = {
  tenantId: notifications.tenantId,
  tenantName: tenants.name,
  type: notifications.type,
  data: notifications.data,
  locale: users.locale,
  timezone: users.timezone,
  userId: notifications.userId,
  category: notifications.categoryKey,
  mandatory: categories.mandatory,
};

export function renderActivities({ db, secrets, publicUrl }: ActivityDeps) {
  return {
    /**
     * Renders the message in the user's language and stores it in Postgres; the workflow
     * history keeps only the fact that it was rendered, not the content. (Channels chosen at
     * the start are rendered by prepareDelivery; this serves fallbacks and older histories.)
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
      const { locale, ...content } = await renderContent({ secrets, publicUrl }, channel, row);
      await db.transaction(async (tx) => {
        await tx
          .insert(renderedMessages)
          .values({ notificationId, locale, ...content })
          .onConflictDoUpdate({ target: [renderedMessages.notificationId, renderedMessages.channel], set: { locale, ...content } });
        await appendAudit(tx, { tenantId: row.tenantId, notificationId, step: `${channel}.rendered`, detail: { locale, type: row.type } });
      });
      return { locale };
    },
  };
}
