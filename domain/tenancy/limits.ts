import { eq, sql } from 'drizzle-orm';
import type { Db } from '../../db/client.js';
import { tenantRateLimits, tenants } from '../../db/schema.js';
import { appendAudit } from '../audit/append.js';
import { TenantError } from './tenants.js';
import type { RateLimits } from '../../config/rate-limits.js';

// A fair share per tenant at the API: requests per second and notifications per second (a batch
// counts each item), as token buckets in Postgres so the limits hold across API processes.

export type RateKind = 'requests' | 'notifications';

export { DEFAULT_RATE_LIMITS, type RateLimits } from '../../config/rate-limits.js';

export interface TakeResult {
  allowed: boolean;
  /** Tokens left (may be negative right after a request larger than the burst). */
  remaining: number;
  /** When refused: how long until the request would pass. */
  waitMs: number;
  rate: number;
  burst: number;
}

/** Takes `cost` tokens of one kind for the tenant, in one atomic statement (take_rate_tokens, db/migrations/0016). */
export async function takeRateTokens(db: Db, tenantId: string, kind: RateKind, cost: number, defaults: RateLimits): Promise<TakeResult> {
  const [rate, burst] =
    kind === 'requests' ? [defaults.requestsPerSecond, defaults.requestsBurst] : [defaults.notificationsPerSecond, defaults.notificationsBurst];
  const [row] = (await db.execute(sql`
    select * from take_rate_tokens(${tenantId}, ${kind}, ${cost}::float8, ${rate}::float8, ${burst}::float8)
  `)) as unknown as { allowed: boolean; remaining: number; wait_ms: number; rate: number; burst: number }[];
  const r = row!;
  return { allowed: r.allowed, remaining: Number(r.remaining), waitMs: Number(r.wait_ms), rate: Number(r.rate), burst: Number(r.burst) };
}

/** The operator's setting for a tenant (null where the default applies) and what is in force. */
export interface TenantLimitsView {
  tenantId: string;
  configured: { [K in keyof RateLimits]: number | null };
  effective: RateLimits;
}

const keys = ['requestsPerSecond', 'requestsBurst', 'notificationsPerSecond', 'notificationsBurst'] as const;

export async function getTenantLimits(db: Db, tenantId: string, defaults: RateLimits): Promise<TenantLimitsView> {
  const [tenant] = await db.select({ id: tenants.id }).from(tenants).where(eq(tenants.id, tenantId));
  if (!tenant) throw new TenantError('not-found', `No tenant ${tenantId}`);
  const [row] = await db.select().from(tenantRateLimits).where(eq(tenantRateLimits.tenantId, tenantId));
  const configured = Object.fromEntries(keys.map((k) => [k, row?.[k] ?? null])) as TenantLimitsView['configured'];
  const effective = Object.fromEntries(keys.map((k) => [k, configured[k] ?? defaults[k]])) as unknown as RateLimits;
  return { tenantId, configured, effective };
}

/**
 * Replaces the operator's setting for a tenant (a null or absent field: the default), audited. The
 * buckets keep their tokens: a lower burst caps them at the next request, a higher rate refills faster.
 */
export async function setTenantLimits(
  db: Db,
  tenantId: string,
  limits: Partial<{ [K in keyof RateLimits]: number | null }>,
  by: string,
  defaults: RateLimits,
): Promise<TenantLimitsView> {
  const values = Object.fromEntries(keys.map((k) => [k, limits[k] ?? null])) as { [K in keyof RateLimits]: number | null };
  await db.transaction(async (tx) => {
    const [tenant] = await tx.select({ id: tenants.id }).from(tenants).where(eq(tenants.id, tenantId));
    if (!tenant) throw new TenantError('not-found', `No tenant ${tenantId}`);
    await tx
      .insert(tenantRateLimits)
      .values({ tenantId, ...values })
      .onConflictDoUpdate({ target: tenantRateLimits.tenantId, set: { ...values, updatedAt: new Date() } });
    await appendAudit(tx, { tenantId, step: 'tenant.rate_limits', detail: { ...values, by } });
  });
  return getTenantLimits(db, tenantId, defaults);
}
