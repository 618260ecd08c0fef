import { createHash, timingSafeEqual } from 'node:crypto';
import type { MiddlewareHandler } from 'hono';
import { problems } from './problem.js';

const digest = (s: string) => createHash('sha256').update(s).digest();

/** The operator key guards /v1/admin; tenant keys never open it. Compared in constant time. */
export function adminAuth(adminKey: string | undefined): MiddlewareHandler {
  const expected = adminKey ? digest(adminKey) : undefined;
  return async (c, next) => {
    if (!expected) throw problems.unauthorized('No operator key is configured (ADMIN_API_KEY); the admin API is closed');
    const match = /^Bearer\s+(\S+)$/i.exec(c.req.header('authorization') ?? '');
    if (!match || !timingSafeEqual(digest(match[1]!), expected))
      throw problems.unauthorized('Send the operator key as "Authorization: Bearer <admin key>"');
    await next();
  };
}
