import { and, eq, isNull } from 'drizzle-orm';
import type { Context, MiddlewareHandler } from 'hono';
import { hashApiKey } from '../config/secrets.js';
import type { Db } from '../db/client.js';
import { apiKeys, tenants } from '../db/schema.js';
import { touchApiKey, type ApiKeyScope } from '../domain/tenancy/api-keys.js';
import type { TtlCache } from './cache.js';
import type { ApiEnv } from './env.js';
import { slidingMinute } from '../lib/sliding-window.js';
import { problemBody, problems } from './problem.js';

/** The peer's address as the Node server saw it (not X-Forwarded-For, which a client writes itself). */
function clientAddress(c: Context): string {
  const incoming = (c.env as { incoming?: { socket?: { remoteAddress?: string } } } | undefined)?.incoming;
  return incoming?.socket?.remoteAddress ?? 'local';
}

/** What a valid key stands for, as cached per API process. */
export interface KeyGrant {
  keyId: string;
  tenantId: string;
  scopes: ApiKeyScope[];
  expiresAt: number | null;
  tenantStatus: 'active' | 'suspended' | 'held';
  tenantStatusReason: string | null;
}

/** last_used_at is written at most this often per key and process. */
const TOUCH_EVERY_MS = 60_000;

/**
 * Bearer API key -> tenant and scopes. Keys are compared by hash; the tenant id scopes every query
 * after this. Valid keys are cached; a revocation or tenant suspension clears every process's cache
 * at once (LISTEN/NOTIFY, see createApi), the TTL is only the backstop. Unknown keys are not cached,
 * so a key created a moment ago works at once. A suspended tenant's keys get 403.
 */
export function tenantAuth(
  db: Db,
  grants: TtlCache<string, KeyGrant>,
  onError?: (err: unknown) => void,
  unknownKeysPerMinute = 30,
): MiddlewareHandler<ApiEnv> {
  // Guessing keys costs a lookup each: unknown keys are counted per client address, and past the
  // limit that address gets no more lookups (429) until the minute has passed. A key already known
  // valid (cached) still works from that address.
  const misses = slidingMinute(unknownKeysPerMinute);
  const touched = new Map<string, number>();
  return async (c, next) => {
    const header = c.req.header('authorization');
    const match = header ? /^Bearer\s+(\S+)$/i.exec(header) : null;
    if (!match) throw problems.unauthorized('Send the tenant API key as "Authorization: Bearer <key>"');
    const keyHash = hashApiKey(match[1]!);
    const client = clientAddress(c);
    if (grants.peek(keyHash) === undefined && !misses.allows(client)) {
      const retryAfter = misses.retryAfter(client);
      return c.body(
        JSON.stringify(
          problemBody(429, {
            type: 'too-many-requests',
            title: 'Too many requests',
            detail: `Too many requests with unknown API keys from your address; try again in ${retryAfter} s`,
          }),
        ),
        429,
        { 'Content-Type': 'application/problem+json', 'Retry-After': String(retryAfter) },
      );
    }
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
      misses.hit(client);
      throw problems.unauthorized('The API key is not valid');
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
