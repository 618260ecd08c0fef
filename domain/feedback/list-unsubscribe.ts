import type { SecretBox } from '../../config/secrets.js';
import { notificationUnsubscribeToken, unsubscribeLink } from './unsubscribe-token.js';

export interface UnsubscribeFacts {
  notificationId: string;
  mandatory: boolean;
}

/**
 * The one-click unsubscribe link of a notification, or undefined for mandatory categories
 * (security). Pure: the send activity stores the token (storeUnsubscribeToken) before the mail
 * leaves, so rendering costs no round trip.
 */
export function unsubscribeUrlFor(deps: { secrets: SecretBox; publicUrl: string }, facts: UnsubscribeFacts): string | undefined {
  if (facts.mandatory) return undefined;
  return unsubscribeLink(deps.publicUrl, notificationUnsubscribeToken(deps.secrets, facts.notificationId));
}

/** RFC 8058 headers: mailbox providers show an unsubscribe button that POSTs to the link. */
export function listUnsubscribeHeaders(url: string | undefined): Record<string, string> {
  return url ? { 'List-Unsubscribe': `<${url}>`, 'List-Unsubscribe-Post': 'List-Unsubscribe=One-Click' } : {};
}
