import { and, eq } from 'drizzle-orm';
import type { Db } from '../../db/client.js';
import { categories, notifications } from '../../db/schema.js';
import type { SecretBox } from '../../config/secrets.js';
import { unsubscribeUrl } from './unsubscribe-token.js';

/** The one-click unsubscribe link of a notification, or undefined for mandatory categories (security). */
export async function unsubscribeUrlFor(deps: { db: Db; secrets: SecretBox; publicUrl: string }, notificationId: string): Promise<string | undefined> {
  const [row] = await deps.db
    .select({ tenantId: notifications.tenantId, userId: notifications.userId, category: notifications.categoryKey, mandatory: categories.mandatory })
    .from(notifications)
    .innerJoin(categories, and(eq(categories.tenantId, notifications.tenantId), eq(categories.key, notifications.categoryKey)))
    .where(eq(notifications.id, notificationId));
  if (!row || row.mandatory) return undefined;
  return unsubscribeUrl(deps.secrets, deps.publicUrl, { tenantId: row.tenantId, userId: row.userId, category: row.category });
}

/** RFC 8058 headers: mailbox providers show an unsubscribe button that POSTs to the link. */
export async function listUnsubscribeHeaders(deps: { db: Db; secrets: SecretBox; publicUrl: string }, notificationId: string): Promise<Record<string, string>> {
  const url = await unsubscribeUrlFor(deps, notificationId);
  return url ? { 'List-Unsubscribe': `<${url}>`, 'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click' } : {};
}
