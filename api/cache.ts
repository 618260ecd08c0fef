import { TtlCache } from '../lib/ttl-cache.js';

export { TtlCache };

/** How long a tenant API key is trusted without asking Postgres: a revoked key stops working within this. */
export const API_KEY_CACHE_TTL_MS = 30_000;
/** How long a tenant's notification types (key -> category) are reused. */
export const NOTIFICATION_TYPES_CACHE_TTL_MS = 15_000;

/** The API's caches; createApi makes one set per app, so tests and processes never share them. */
export interface ApiCaches {
  /** SHA-256 of an API key -> tenant id (valid, unrevoked keys only). */
  tenantByKeyHash: TtlCache<string, string>;
  /** tenant id -> notification type key -> category key. */
  typesByTenant: TtlCache<string, ReadonlyMap<string, string>>;
}

export function createApiCaches(): ApiCaches {
  return {
    tenantByKeyHash: new TtlCache(API_KEY_CACHE_TTL_MS, 10_000),
    typesByTenant: new TtlCache(NOTIFICATION_TYPES_CACHE_TTL_MS, 1_000),
  };
}
