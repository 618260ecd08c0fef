import type { SecretBox } from '../../config/secrets.js';
import type { Db } from '../../db/client.js';
import { and, eq } from 'drizzle-orm';
import { notificationTypes } from '../../db/schema.js';
import { DEFAULT_LIST } from '../../lib/digest-spec.js';
import { renderDigestEmail, renderDigestPush, renderVersionEmail, renderVersionPush, TemplateError } from '../../templates/index.js';
import { digestItemsOf } from '../digests/items.js';
import { loadVersion } from '../templates/versions.js';
import { permanent } from '../failures/refusal.js';
import { unsubscribeUrlFor } from '../feedback/list-unsubscribe.js';
import type { Channel } from './status.js';

/** What rendering one notification needs, read in the caller's own query. */
export interface RenderFacts {
  notificationId: string;
  tenantId: string;
  tenantName: string;
  type: string;
  data: unknown;
  locale: string | null;
  timezone: string;
  userId: string;
  category: string;
  mandatory: boolean;
  requiresOptIn: boolean;
  /** Chosen when the notification was accepted; null only for rows accepted before versions existed. */
  templateVersion: number | null;
  /** A digest notification: how many items it carries (null: an ordinary one). */
  digestItems: number | null;
}

export interface RenderedContent {
  channel: Channel;
  locale: string;
  subject: string;
  html: string | null;
  text: string;
}

/**
 * The message for one channel in the user's language, from the template version the notification
 * was accepted with (a publish meanwhile does not change it); template problems become a
 * non-retryable TemplateError.
 */
export async function renderContent(
  deps: { db: Db; secrets: SecretBox; publicUrl: string },
  channel: Channel,
  row: RenderFacts,
): Promise<RenderedContent & { templateVersion: number }> {
  const data = row.data as Record<string, unknown>;
  // Non-mandatory categories get a one-click unsubscribe link in the footer; security alerts none.
  const unsubscribeUrl = channel === 'email' ? unsubscribeUrlFor(deps, row) : undefined;
  const ctx = { tenantName: row.tenantName, timezone: row.timezone, unsubscribeUrl, requireUnsubscribe: row.requiresOptIn };
  const wanted = row.locale ?? 'en';
  try {
    const version = await loadVersion(deps.db, row.tenantId, row.type, row.templateVersion);
    if (!version) throw new TemplateError('unknown_type', `${row.type} has no version ${row.templateVersion ?? '(none published)'}`);
    const templateVersion = version.version;
    if (row.digestItems !== null) {
      // A digest: the version's digest content with the list of its items (domain/digests/items.ts).
      const items = (await digestItemsOf(deps.db, row.notificationId)).map((i) => i.data);
      const [type] = await deps.db
        .select({ digest: notificationTypes.digest })
        .from(notificationTypes)
        .where(and(eq(notificationTypes.tenantId, row.tenantId), eq(notificationTypes.key, row.type)));
      const list = type?.digest?.list ?? DEFAULT_LIST;
      if (channel === 'email') {
        const { locale, ...email } = await renderDigestEmail(version, wanted, items, list, ctx);
        return { channel, locale, ...email, templateVersion };
      }
      const push = renderDigestPush(version, wanted, items, list, ctx);
      return { channel, locale: push.locale, subject: push.title, html: null, text: push.body, templateVersion };
    }
    if (channel === 'email') {
      const { locale, ...email } = await renderVersionEmail(version, wanted, data, ctx);
      return { channel, locale, ...email, templateVersion };
    }
    const push = renderVersionPush(version, wanted, data, ctx);
    return { channel, locale: push.locale, subject: push.title, html: null, text: push.body, templateVersion };
  } catch (err) {
    // A compile over the time limit or past a full queue is retried: the version compiled when it was created.
    if (err instanceof TemplateError && err.code !== 'compile_timeout' && err.code !== 'compile_busy')
      throw permanent('TemplateError', `${err.code}: ${err.message}`);
    throw err;
  }
}
