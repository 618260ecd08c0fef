import type { SecretBox } from '../../config/secrets.js';
import { openToken, signToken } from '../signed-token.js';

// One-click unsubscribe links (RFC 8058): a signed, expiring token naming tenant, user and category.
// It carries internal ids only, never the address.

export interface UnsubscribeClaim {
  tenantId: string;
  /** Internal user id (users.id), not the app's external id. */
  userId: string;
  category: string;
  /** Expiry, seconds since the epoch. */
  exp: number;
}

/** Long enough for a mail read weeks later; short enough that old links stop working. */
export const unsubscribeTokenTtlSeconds = 60 * 24 * 3600;

export function signUnsubscribeToken(secrets: SecretBox, claim: UnsubscribeClaim): string {
  return signToken(secrets, 'unsubscribe', [claim.tenantId, claim.userId, claim.category, claim.exp]);
}

export type TokenCheck = { ok: true; claim: UnsubscribeClaim } | { ok: false; reason: 'malformed' | 'forged' | 'expired' };

export function verifyUnsubscribeToken(secrets: SecretBox, token: string, nowMs = Date.now()): TokenCheck {
  const opened = openToken(secrets, 'unsubscribe', token, 4);
  if (!opened.ok) return opened;
  const [tenantId, userId, category, exp] = opened.parts;
  if (typeof tenantId !== 'string' || typeof userId !== 'string' || typeof category !== 'string' || typeof exp !== 'number') {
    return { ok: false, reason: 'malformed' };
  }
  if (exp * 1000 <= nowMs) return { ok: false, reason: 'expired' };
  return { ok: true, claim: { tenantId, userId, category, exp } };
}

/** The https link put in List-Unsubscribe and in the footer of non-mandatory categories. */
export function unsubscribeUrl(secrets: SecretBox, publicUrl: string, claim: Omit<UnsubscribeClaim, 'exp'>, nowMs = Date.now()): string {
  const exp = Math.floor(nowMs / 1000) + unsubscribeTokenTtlSeconds;
  return `${publicUrl.replace(/\/$/, '')}/v1/unsubscribe/${signUnsubscribeToken(secrets, { ...claim, exp })}`;
}
