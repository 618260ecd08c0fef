import type { Context, MiddlewareHandler } from 'hono';
import { DEFAULT_RATE_LIMITS, takeRateTokens, type RateKind, type RateLimits, type TakeResult } from '../domain/tenancy/limits.js';
import type { ApiEnv } from './env.js';
import { ApiProblem } from './problem.js';

// The tenant's API rate limits (domain/tenancy/limits.ts), told to clients in the IETF RateLimit
// fields (draft-ietf-httpapi-ratelimit-headers): RateLimit-Policy names each quota (q units per
// w seconds: the burst, refilled at the rate), RateLimit says what is left (r) and when the quota
// is whole again (t, seconds). A refused request gets 429 with Retry-After, before anything is written.

type Taken = TakeResult & { kind: RateKind };

const wholeIn = (t: Taken) => Math.max(0, Math.ceil((t.burst - t.remaining) / t.rate));
const policy = (t: Taken) => `"${t.kind}";q=${t.burst};w=${Math.max(1, Math.ceil(t.burst / t.rate))}`;
const state = (t: Taken) => `"${t.kind}";r=${Math.max(0, Math.floor(t.remaining))};t=${wholeIn(t)}`;

function setFields(c: Context<ApiEnv>, taken: Taken[]) {
  c.header('RateLimit-Policy', taken.map(policy).join(', '));
  c.header('RateLimit', taken.map(state).join(', '));
}

/** The 429 for an empty bucket: Retry-After set on the context, the problem thrown (the error handler keeps the header). */
function refuse(c: Context<ApiEnv>, t: Taken, cost: number): never {
  const retryAfter = Math.max(1, Math.ceil(t.waitMs / 1000));
  const detail =
    t.kind === 'requests'
      ? `This tenant may make ${t.rate} requests per second (bursts of ${t.burst}); try again in ${retryAfter} s. Nothing was done`
      : `This tenant may trigger ${t.rate} notifications per second (bursts of ${t.burst}); these ${cost} notifications fit again in ${retryAfter} s. Nothing was recorded`;
  c.header('Retry-After', String(retryAfter));
  throw new ApiProblem(429, { type: 'too-many-requests', title: 'Too many requests', detail });
}

/** Takes one request from the tenant's bucket (after tenantAuth); 429 when empty. Every answer carries the fields. */
export function rateLimit(db: Parameters<typeof takeRateTokens>[0], defaults: RateLimits = DEFAULT_RATE_LIMITS): MiddlewareHandler<ApiEnv> {
  return async (c, next) => {
    const taken: Taken = { kind: 'requests', ...(await takeRateTokens(db, c.var.tenantId, 'requests', 1, defaults)) };
    c.set('rateLimits', [taken]);
    setFields(c, [taken]);
    if (!taken.allowed) refuse(c, taken, 1);
    await next();
  };
}

/**
 * Takes `count` notifications from the tenant's bucket, before a trigger records anything: a
 * refusal throws the 429 problem (Retry-After, RateLimit fields for both quotas).
 */
export async function chargeNotifications(
  c: Context<ApiEnv>,
  db: Parameters<typeof takeRateTokens>[0],
  count: number,
  defaults: RateLimits = DEFAULT_RATE_LIMITS,
): Promise<void> {
  const taken: Taken = { kind: 'notifications', ...(await takeRateTokens(db, c.var.tenantId, 'notifications', count, defaults)) };
  const all = [...(c.var.rateLimits ?? []), taken];
  c.set('rateLimits', all);
  setFields(c, all);
  if (!taken.allowed) refuse(c, taken, count);
}
