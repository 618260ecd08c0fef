import { and, eq, isNull } from 'drizzle-orm';
import type { Context, MiddlewareHandler } from 'hono';
import { setTimeout as sleep } from 'node:timers/promises';
import { hashApiKey } from '../config/secrets.js';
import type { Db } from '../db/client.js';
import { apiKeys, tenants } from '../db/schema.js';
import { touchApiKey, type ApiKeyScope, type KeyGrant } from '../domain/tenancy/api-keys.js';
import type { TtlCache } from '../lib/ttl-cache.js';
import type { ApiEnv } from './env.js';
import { slidingMinute } from '../lib/sliding-window.js';
import { problems } from './problem.js';

/** last_used_at is written at most this often per key and process. */
const TOUCH_EVERY_MS = 60_000;
/** How long the 401 to an unknown key is held once its address is past the limit. */
const UNKNOWN_KEY_DELAY_MS = 1_000;

/**
 * Bearer API key -> tenant and scopes. Keys are compared by hash; the tenant id scopes every query
 * after this. Valid keys are cached; a revocation or tenant suspension clears every process's cache
 * at once (LISTEN/NOTIFY, see createApi), the TTL is only the backstop. Unknown keys are not cached,
 * so a key created a moment ago works at once. A suspended tenant's keys get 403.
 */
export function tenantAuth(
  db: Db,
  grants: TtlCache<string, KeyGrant>,
  opts: { onError?: (err: unknown) => void; unknownKeysPerMinute?: number; clientAddress: (c: Context) => string },
): MiddlewareHandler<ApiEnv> {
  const { onError, clientAddress } = opts;
  // Unknown keys are counted per client address (api/client-address.ts). Every key is still looked
  // up, so a valid key is never refused whoever shares its address (a proxy, a load balancer);
  // past the limit an unknown key's 401 is held a while, which slows the guesser and no one else.
  const misses = slidingMinute(opts.unknownKeysPerMinute ?? 30);
  const touched = new Map<string, number>();
  return async (c, next) => {
    const header = c.req.header('authorization');
    const match = header ? /^Bearer\s+(\S+)$/i.exec(header) : null;
    if (!match) throw problems.unauthorized('Send the tenant API key as "Authorization: Bearer <key>"');
    const keyHash = hashApiKey(match[1]!);
    const grant = await grants.get(keyHash, async () => {
      const [row] = await db
        .select({
          keyId: apiKeys.id,
          tenantId: apiKeys.tenantId,
          scopes: apiKeys.scopes,
          expiresAt: apiKeys.expiresAt,
          tenantStatus: tenants.status,
          tenantStatusReason: tenants.statusReason,
        })
        .from(apiKeys)
        .innerJoin(tenants, eq(tenants.id, apiKeys.tenantId))
        .where(and(eq(apiKeys.keyHash, keyHash), isNull(apiKeys.revokedAt)));
      return row ? { ...row, scopes: row.scopes as ApiKeyScope[], expiresAt: row.expiresAt?.getTime() ?? null } : undefined;
    });
    if (!grant) {
      const client = clientAddress(c);
      if (misses.hit(client)) throw problems.unauthorized('The API key is not valid');
      await sleep(UNKNOWN_KEY_DELAY_MS);
      c.header('Retry-After', String(misses.retryAfter(client)));
      throw problems.unauthorized(
        `The API key is not valid; too many unknown keys came from ${client} in the last minute, so answers to them are held ${UNKNOWN_KEY_DELAY_MS / 1000} s`,
      );
    }
    if (grant.expiresAt !== null && grant.expiresAt <= Date.now()) throw problems.unauthorized('The API key has expired');
    if (grant.tenantStatus === 'suspended')
      throw problems.forbidden(
        `Tenant ${grant.tenantId} is suspended${grant.tenantStatusReason ? `: ${grant.tenantStatusReason}` : ''}; an operator must reinstate it`,
      );
    const last = touched.get(grant.keyId) ?? 0;
    if (Date.now() - last > TOUCH_EVERY_MS) {
      touched.set(grant.keyId, Date.now());
      touchApiKey(db, grant.keyId).catch((err: unknown) => onError?.(err));
    }
    c.set('tenantId', grant.tenantId);
    c.set('scopes', grant.scopes);
    await next();
  };
}

/** Refuses a key without the scope a route needs (403), before the route parses anything. */
export function requireScope(scope: ApiKeyScope): MiddlewareHandler<ApiEnv> {
  return async (c, next) => {
    if (!c.var.scopes.includes(scope)) throw problems.forbidden(`This API key lacks the "${scope}" scope this route needs`);
    await next();
  };
}
