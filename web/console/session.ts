import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Context } from 'hono';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import { isHttps } from '../csrf.js';

// Console sessions: after the admin key is given once, an HttpOnly, SameSite=Strict cookie holds
// "<expiry>.<nonce>.<mac>", the MAC keyed from the admin key (changing the key ends all sessions).
// Each form carries a CSRF token, a MAC of the session nonce.

export const SESSION_COOKIE = 'nf_console';
const SESSION_HOURS = 8;

export function consoleSessions(adminKey: string | undefined) {
  const key = adminKey ? createHmac('sha256', adminKey).update('notiflow/console-session').digest() : undefined;
  const mac = (s: string) => createHmac('sha256', key!).update(s).digest('base64url');
  const same = (a: string, b: string) => a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));
  const digest = (s: string) => createHash('sha256').update(s).digest();

  return {
    configured: Boolean(key),
    /** Constant-time check of a typed admin key. */
    keyMatches(given: unknown): boolean {
      return Boolean(adminKey) && typeof given === 'string' && timingSafeEqual(digest(given), digest(adminKey!));
    },
    start(c: Context): void {
      const body = `${Date.now() + SESSION_HOURS * 3_600_000}.${randomBytes(18).toString('base64url')}`;
      setCookie(c, SESSION_COOKIE, `${body}.${mac(`session:${body}`)}`, {
        httpOnly: true,
        sameSite: 'Strict',
        secure: isHttps(c),
        path: '/console',
        maxAge: SESSION_HOURS * 3600,
      });
    },
    end(c: Context): void {
      deleteCookie(c, SESSION_COOKIE, { path: '/console', secure: isHttps(c) });
    },
    /** The session's nonce when the cookie is genuine and unexpired. */
    current(c: Context): string | undefined {
      if (!key) return undefined;
      const [exp, nonce, sig, ...rest] = (getCookie(c, SESSION_COOKIE) ?? '').split('.');
      if (!exp || !nonce || !sig || rest.length) return undefined;
      if (!same(sig, mac(`session:${exp}.${nonce}`)) || Number(exp) < Date.now()) return undefined;
      return nonce;
    },
    csrfFor: (nonce: string) => mac(`csrf:${nonce}`),
    csrfOk: (nonce: string, given: unknown) => typeof given === 'string' && same(given, mac(`csrf:${nonce}`)),
  };
}
