import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { and, eq, gt, lt } from 'drizzle-orm';
import type { Context } from 'hono';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import type { Db } from '../../db/client.js';
import { consoleSessions as sessionRows } from '../../db/schema.js';
import { appendAudit } from '../../domain/audit/append.js';
import { isHttps } from '../csrf.js';

// Console sessions: after the admin key is given once, an HttpOnly, SameSite=Strict cookie holds
// "<id>.<mac>": a random id whose SHA-256 is a row of console_sessions (sign-out deletes it, an
// operator can delete them all), and a MAC keyed from the admin key (changing the key ends all
// sessions too). Each form carries a CSRF token, a MAC of the session id.

export const SESSION_COOKIE = 'nf_console';
const SESSION_HOURS = 8;
const OPERATOR_TENANT = '*';

const hashOf = (id: string) => createHash('sha256').update(id).digest('base64url');

/** Ends every console session (all operators, all browsers); the number ended. */
export async function revokeConsoleSessions(db: Db, by: string): Promise<number> {
  return db.transaction(async (tx) => {
    const rows = await tx.delete(sessionRows).returning({ expiresAt: sessionRows.expiresAt });
    const ended = rows.filter((r) => r.expiresAt.getTime() > Date.now()).length;
    await appendAudit(tx, { tenantId: OPERATOR_TENANT, step: 'console.sessions_revoked', detail: { sessions: ended, by } });
    return ended;
  });
}

export function consoleSessions(db: Db, adminKey: string | undefined) {
  const key = adminKey ? createHmac('sha256', adminKey).update('notiflow/console-session').digest() : undefined;
  const mac = (s: string) => createHmac('sha256', key!).update(s).digest('base64url');
  const same = (a: string, b: string) => a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));
  const digest = (s: string) => createHash('sha256').update(s).digest();
  /** The cookie's session id when its MAC is genuine (whether the session still exists is the table's say). */
  const idIn = (c: Context) => {
    const [id, sig, ...rest] = (getCookie(c, SESSION_COOKIE) ?? '').split('.');
    return key && id && sig && !rest.length && same(sig, mac(`session:${id}`)) ? id : undefined;
  };

  return {
    configured: Boolean(key),
    /** Constant-time check of a typed admin key. */
    keyMatches(given: unknown): boolean {
      return Boolean(adminKey) && typeof given === 'string' && timingSafeEqual(digest(given), digest(adminKey!));
    },
    /** A sign-in attempt, audited either way (never with what was typed). */
    async audit(ok: boolean, sessionId?: string): Promise<void> {
      await appendAudit(db, {
        tenantId: OPERATOR_TENANT,
        step: ok ? 'console.signed_in' : 'console.sign_in_failed',
        // The session by the start of its hash (enough to match its sign-out); nothing typed, nothing about the person.
        detail: { session: sessionId ? hashOf(sessionId).slice(0, 12) : null },
      });
    },
    async start(c: Context): Promise<string> {
      const id = randomBytes(32).toString('base64url');
      const expiresAt = new Date(Date.now() + SESSION_HOURS * 3_600_000);
      // Expired sessions go as new ones come.
      await db.delete(sessionRows).where(lt(sessionRows.expiresAt, new Date()));
      await db.insert(sessionRows).values({ idHash: hashOf(id), expiresAt });
      setCookie(c, SESSION_COOKIE, `${id}.${mac(`session:${id}`)}`, {
        httpOnly: true,
        sameSite: 'Strict',
        secure: isHttps(c),
        path: '/console',
        maxAge: SESSION_HOURS * 3600,
      });
      return id;
    },
    async end(c: Context): Promise<void> {
      const id = idIn(c);
      if (id) {
        const [gone] = await db
          .delete(sessionRows)
          .where(eq(sessionRows.idHash, hashOf(id)))
          .returning({ id: sessionRows.idHash });
        if (gone) await appendAudit(db, { tenantId: OPERATOR_TENANT, step: 'console.signed_out', detail: { session: gone.id.slice(0, 12) } });
      }
      deleteCookie(c, SESSION_COOKIE, { path: '/console', secure: isHttps(c) });
    },
    /** The session id when the cookie is genuine and its session is still in the table, unexpired. */
    async current(c: Context): Promise<string | undefined> {
      const id = idIn(c);
      if (!id) return undefined;
      const [row] = await db
        .select({ id: sessionRows.idHash })
        .from(sessionRows)
        .where(and(eq(sessionRows.idHash, hashOf(id)), gt(sessionRows.expiresAt, new Date())));
      return row ? id : undefined;
    },
    csrfFor: (id: string) => mac(`csrf:${id}`),
    csrfOk: (id: string, given: unknown) => typeof given === 'string' && same(given, mac(`csrf:${id}`)),
  };
}
