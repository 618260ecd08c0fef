import type { SecretBox } from '../../config/secrets.js';
import type { Db } from '../../db/client.js';
import { checkUnsubscribeHash, unsubscribeTokenHash } from '../feedback/unsubscribe-token.js';
import { openToken, signToken } from '../signed-token.js';

// Preference-centre links. The tenant's (POST /v1/users/{id}/preference-link) is a signed,
// expiring token naming tenant and user (internal ids only): whoever holds it may change every
// preference, consent included, so it expires within days. The unsubscribe page's is weaker: it
// names the unsubscribe token it came from, is checked against that token's row at each use (so it
// dies when the token is used, revoked, voided by a re-subscribe or erased), and may only turn
// channels off, because a forwarded mail or a link scanner holds it as well as the user.

/** full: the tenant's link; opt-out: the unsubscribe page's link, which can only remove channels. */
export type PreferenceScope = 'full' | 'opt-out';

export interface PreferenceClaim {
  tenantId: string;
  /** Internal user id (users.id), not the app's external id. */
  userId: string;
  /** Expiry, seconds since the epoch. */
  exp: number;
  scope: PreferenceScope;
}

export const preferenceLinkTtlSeconds = 7 * 24 * 3600;
/** The unsubscribe page mints one per visit, so a day is enough; the token it names may end it sooner. */
export const optOutLinkTtlSeconds = 24 * 3600;

const FULL = 'preferences';
const OPT_OUT = 'preferences-opt-out';

export function signPreferenceToken(secrets: SecretBox, claim: Omit<PreferenceClaim, 'scope'>): string {
  return signToken(secrets, FULL, [claim.tenantId, claim.userId, claim.exp]);
}

export type PreferenceTokenCheck = { ok: true; claim: PreferenceClaim } | { ok: false; reason: 'malformed' | 'forged' | 'expired' | 'revoked' };

/** A tenant's link, checked by its signature alone. */
export function verifyPreferenceToken(secrets: SecretBox, token: string, nowMs = Date.now()): PreferenceTokenCheck {
  const opened = openToken(secrets, FULL, token, 3);
  if (!opened.ok) return opened;
  const [tenantId, userId, exp] = opened.parts;
  if (typeof tenantId !== 'string' || typeof userId !== 'string' || typeof exp !== 'number') return { ok: false, reason: 'malformed' };
  if (exp * 1000 <= nowMs) return { ok: false, reason: 'expired' };
  return { ok: true, claim: { tenantId, userId, exp, scope: 'full' } };
}

/** Either kind of link: a tenant's (full), or an unsubscribe page's (opt-out) while its unsubscribe token still works. */
export async function openPreferenceLink(
  db: Pick<Db, 'select'>,
  secrets: SecretBox,
  token: string,
  nowMs = Date.now(),
): Promise<PreferenceTokenCheck> {
  const full = verifyPreferenceToken(secrets, token, nowMs);
  if (full.ok || full.reason !== 'forged') return full;
  const opened = openToken(secrets, OPT_OUT, token, 2);
  if (!opened.ok) return opened;
  const [hash, exp] = opened.parts;
  if (typeof hash !== 'string' || typeof exp !== 'number') return { ok: false, reason: 'malformed' };
  if (exp * 1000 <= nowMs) return { ok: false, reason: 'expired' };
  const live = await checkUnsubscribeHash(db, hash);
  if (!live.ok) return { ok: false, reason: live.reason === 'expired' ? 'expired' : 'revoked' };
  return { ok: true, claim: { tenantId: live.claim.tenantId, userId: live.claim.userId, exp, scope: 'opt-out' } };
}

const pageUrl = (publicUrl: string, token: string) => `${publicUrl.replace(/\/$/, '')}/preferences/${token}`;

/** The tenant's page URL under `publicUrl` (full rights), and when it stops working. */
export function preferenceUrl(
  secrets: SecretBox,
  publicUrl: string,
  claim: Pick<PreferenceClaim, 'tenantId' | 'userId'>,
  nowMs = Date.now(),
): { url: string; expiresAt: Date } {
  const exp = Math.floor(nowMs / 1000) + preferenceLinkTtlSeconds;
  return { url: pageUrl(publicUrl, signPreferenceToken(secrets, { ...claim, exp })), expiresAt: new Date(exp * 1000) };
}

/** The unsubscribe page's link to the same user's page: opt-out only, and only while `unsubscribeToken` works. */
export function optOutPreferenceUrl(secrets: SecretBox, publicUrl: string, unsubscribeToken: string, nowMs = Date.now()): string {
  const exp = Math.floor(nowMs / 1000) + optOutLinkTtlSeconds;
  return pageUrl(publicUrl, signToken(secrets, OPT_OUT, [unsubscribeTokenHash(unsubscribeToken), exp]));
}
