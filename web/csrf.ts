import { randomBytes } from 'node:crypto';
import type { Context } from 'hono';
import { getCookie, setCookie } from 'hono/cookie';
import type { SecretBox } from '../config/secrets.js';

// Signed double-submit CSRF tokens for the server-rendered forms: a random nonce in an HttpOnly,
// SameSite=Strict cookie, and in each form a MAC of that nonce bound to the page's scope. A
// cross-site form can neither read the cookie nor forge the MAC.

export function csrfField(c: Context, secrets: SecretBox, o: { cookie: string; path: string; scope: string }): string {
  let nonce = getCookie(c, o.cookie);
  if (!nonce || !/^[A-Za-z0-9_-]{22,64}$/.test(nonce)) {
    nonce = randomBytes(24).toString('base64url');
    setCookie(c, o.cookie, nonce, { httpOnly: true, sameSite: 'Strict', secure: isHttps(c), path: o.path });
  }
  return secrets.sign('csrf', `csrf:${o.scope}:${nonce}`);
}

export function csrfValid(c: Context, secrets: SecretBox, o: { cookie: string; scope: string }, given: unknown): boolean {
  const nonce = getCookie(c, o.cookie);
  if (!nonce || typeof given !== 'string') return false;
  return secrets.verify('csrf', `csrf:${o.scope}:${nonce}`, given);
}

/** Cookies are Secure when the page is reached over https (directly or behind a proxy that says so). */
export function isHttps(c: Context): boolean {
  return new URL(c.req.url).protocol === 'https:' || c.req.header('x-forwarded-proto') === 'https';
}
