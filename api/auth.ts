import { and, eq, isNull } from 'drizzle-orm';
import type { MiddlewareHandler } from 'hono';
import { hashApiKey } from '../config/secrets.js';
import type { Db } from '../db/client.js';
import { apiKeys } from '../db/schema.js';
import type { TtlCache } from './cache.js';
import type { ApiEnv } from './env.js';
import { problems } from './problem.js';

/**
 * Bearer API key -> tenant. Keys are compared by hash; the tenant id scopes every query after this.
 * Valid keys are cached for API_KEY_CACHE_TTL_MS (a revoked key stops working within that time);
 * unknown keys are not, so a key created a moment ago works at once.
 */
export function tenantAuth(db: Db, tenantByKeyHash: TtlCache<string, string>): MiddlewareHandler<ApiEnv> {
  return async (c, next) => {
    const header = c.req.header('authorization');
    const match = header ? /^Bearer\s+(\S+)$/i.exec(header) : null;
    if (!match) throw problems.unauthorized('Send the tenant API key as "Authorization: Bearer <key>"');
    const keyHash = hashApiKey(match[1]!);
    const tenantId = await tenantByKeyHash.get(keyHash, async () => {
      const [key] = await db
        .select({ tenantId: apiKeys.tenantId })
        .from(apiKeys)
        .where(and(eq(apiKeys.keyHash, keyHash), isNull(apiKeys.revokedAt)));
      return key?.tenantId;
    });
    if (!tenantId) throw problems.unauthorized('The API key is not valid');
    c.set('tenantId', tenantId);
    await next();
  };
}
