import type { SecretBox } from '../../config/secrets.js';
import { openToken, signToken } from '../signed-token.js';

// Preference-centre links: a signed, expiring token naming tenant and user (internal ids only).
// Whoever holds the link may change that user's preferences, so it expires within days.

export interface PreferenceClaim {
  tenantId: string;
  /** Internal user id (users.id), not the app's external id. */
  userId: string;
  /** Expiry, seconds since the epoch. */
  exp: number;
}

export const preferenceLinkTtlSeconds = 7 * 24 * 3600;

export function signPreferenceToken(secrets: SecretBox, claim: PreferenceClaim): string {
  return signToken(secrets, 'preferences', [claim.tenantId, claim.userId, claim.exp]);
}

export type PreferenceTokenCheck = { ok: true; claim: PreferenceClaim } | { ok: false; reason: 'malformed' | 'forged' | 'expired' };

export function verifyPreferenceToken(secrets: SecretBox, token: string, nowMs = Date.now()): PreferenceTokenCheck {
  const opened = openToken(secrets, 'preferences', token, 3);
  if (!opened.ok) return opened;
  const [tenantId, userId, exp] = opened.parts;
  if (typeof tenantId !== 'string' || typeof userId !== 'string' || typeof exp !== 'number') return { ok: false, reason: 'malformed' };
  if (exp * 1000 <= nowMs) return { ok: false, reason: 'expired' };
  return { ok: true, claim: { tenantId, userId, exp } };
}

/** The page's URL under `publicUrl`, and when it stops working. */
export function preferenceUrl(
  secrets: SecretBox,
  publicUrl: string,
  claim: Omit<PreferenceClaim, 'exp'>,
  nowMs = Date.now(),
): { url: string; expiresAt: Date } {
  const exp = Math.floor(nowMs / 1000) + preferenceLinkTtlSeconds;
  return { url: `${publicUrl.replace(/\/$/, '')}/preferences/${signPreferenceToken(secrets, { ...claim, exp })}`, expiresAt: new Date(exp * 1000) };
}
