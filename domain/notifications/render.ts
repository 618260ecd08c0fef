import type { SecretBox } from '../../config/secrets.js';
import { categories, notifications, tenants, users } from '../../db/schema.js';
import { renderEmail, renderPush, resolveLocale, TemplateError } from '../../templates/index.js';
import { permanent } from '../failures/temporal.js';
import { unsubscribeUrlFor } from '../feedback/list-unsubscribe.js';
import type { Channel } from './status.js';

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
