import type { SecretBox } from '../../config/secrets.js';
import { unsubscribeUrl } from './unsubscribe-token.js';

export interface UnsubscribeFacts {
  tenantId: string;
  /** The user's internal id (notifications.user_id). */
  userId: string;
  category: string;
  mandatory: boolean;
}

/**
 * The one-click unsubscribe link of a notification, or undefined for mandatory categories
 * (security). Callers read the facts in the query they already make, so this costs no round trip.
 */
export function unsubscribeUrlFor(deps: { secrets: SecretBox; publicUrl: string }, facts: UnsubscribeFacts): string | undefined {
  if (facts.mandatory) return undefined;
  return unsubscribeUrl(deps.secrets, deps.publicUrl, { tenantId: facts.tenantId, userId: facts.userId, category: facts.category });
}

/** RFC 8058 headers: mailbox providers show an unsubscribe button that POSTs to the link. */
export function listUnsubscribeHeaders(url: string | undefined): Record<string, string> {
  return url ? { 'List-Unsubscribe': `<${url}>`, 'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click' } : {};
}
