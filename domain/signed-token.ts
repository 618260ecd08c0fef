import type { SecretBox } from '../config/secrets.js';

// Signed, expiring link tokens: "<base64url JSON array>.<MAC>", the MAC bound to a purpose so a
// token made for one use (unsubscribe, preferences) is never accepted for another.

export function signToken(secrets: SecretBox, purpose: string, parts: unknown[]): string {
  const body = Buffer.from(JSON.stringify(parts)).toString('base64url');
  return `${body}.${secrets.sign('link', `${purpose}:${body}`)}`;
}

export type TokenParts = { ok: true; parts: unknown[] } | { ok: false; reason: 'malformed' | 'forged' };

/** The token's parts when its MAC matches and it holds `arity` of them; the caller checks types and expiry. */
export function openToken(secrets: SecretBox, purpose: string, token: string, arity: number): TokenParts {
  const [body, sig, ...rest] = token.split('.');
  if (!body || !sig || rest.length > 0 || token.length > 1024) return { ok: false, reason: 'malformed' };
  if (!secrets.verify('link', `${purpose}:${body}`, sig)) return { ok: false, reason: 'forged' };
  let parts: unknown;
  try {
    parts = JSON.parse(Buffer.from(body, 'base64url').toString('utf8'));
  } catch {
    return { ok: false, reason: 'malformed' };
  }
  if (!Array.isArray(parts) || parts.length !== arity) return { ok: false, reason: 'malformed' };
  return { ok: true, parts };
}
