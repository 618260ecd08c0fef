// The API rate limits' shape and the defaults a tenant without an operator's setting gets;
// config/env.ts reads RATE_LIMIT_* over them, domain/tenancy/limits.ts applies them.

/** A tenant's limits: a steady rate per second and the burst a full bucket allows. */
export interface RateLimits {
  requestsPerSecond: number;
  requestsBurst: number;
  notificationsPerSecond: number;
  notificationsBurst: number;
}

/** What a tenant without an operator's setting gets (RATE_LIMIT_* override these). */
export const DEFAULT_RATE_LIMITS: RateLimits = {
  requestsPerSecond: 100,
  requestsBurst: 200,
  notificationsPerSecond: 500,
  notificationsBurst: 2_000,
};
