import { and, eq, isNull } from 'drizzle-orm';
import type { MiddlewareHandler } from 'hono';
import { hashApiKey } from '../config/secrets.js';
import type { Db } from '../db/client.js';
import { apiKeys } from '../db/schema.js';
import type { ApiEnv } from './env.js';
import { problems } from './problem.js';

/** Bearer API key -> tenant. Keys are compared by hash; the tenant id scopes every query after this. */
export function tenantAuth(db: Db): MiddlewareHandler<ApiEnv> {
  return async (c, next) => {
    const header = c.req.header('authorization');
    const match = header ? /^Bearer\s+(\S+)$/i.exec(header) : null;
    if (!match) throw problems.unauthorized('Send the tenant API key as "Authorization: Bearer <key>"');
    const [key] = await db
      .select({ tenantId: apiKeys.tenantId })
      .from(apiKeys)
      .where(and(eq(apiKeys.keyHash, hashApiKey(match[1]!)), isNull(apiKeys.revokedAt)));
    if (!key) throw problems.unauthorized('The API key is not valid');
    c.set('tenantId', key.tenantId);
    await next();
  };
}
