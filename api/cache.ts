import { TtlCache } from '../lib/ttl-cache.js';
import type { KeyGrant } from '../domain/tenancy/api-keys.js';
import type { TypeFacts } from '../domain/notifications/accept.js';

export { TtlCache };

/** Backstop only: revocations and suspensions clear the key cache at once through LISTEN/NOTIFY. */
export const API_KEY_CACHE_TTL_MS = 30_000;
/** How long a tenant's notification types (key -> category, variables) are reused; changes made through the same API process count at once. */
export const NOTIFICATION_TYPES_CACHE_TTL_MS = 15_000;
/** How long "this tenant has a DKIM-verified domain (or is a sandbox)" is reused; a refusal is never cached. */
export const SENDABLE_CACHE_TTL_MS = 15_000;

/** The API's caches; createApi makes one set per app, so tests and processes never share them. */
export interface ApiCaches {
  /** SHA-256 of an API key -> its grant (valid, unrevoked keys only). */
  tenantByKeyHash: TtlCache<string, KeyGrant>;
  /** tenant id -> notification type key -> category and variables. */
  typesByTenant: TtlCache<string, ReadonlyMap<string, TypeFacts>>;
  /** tenant id -> true when it may trigger e-mail (a DKIM-verified domain or sandbox). */
  sendableByTenant: TtlCache<string, true>;
}

export function createApiCaches(): ApiCaches {
  return {
    tenantByKeyHash: new TtlCache(API_KEY_CACHE_TTL_MS, 10_000),
    typesByTenant: new TtlCache(NOTIFICATION_TYPES_CACHE_TTL_MS, 1_000),
    sendableByTenant: new TtlCache(SENDABLE_CACHE_TTL_MS, 10_000),
  };
}
