import { z } from 'zod';

/** Operator API (/v1/admin) request and response shapes; also feed the OpenAPI document. */

const providerName = z.string().regex(/^(\*|[a-z0-9-]{1,64})$/, 'a provider name from the rules file (gmail, outlook, ...) or "*" for all');

export const SuspendBody = z
  .object({
    provider: providerName.default('*').describe('The provider to suspend the IP for; "*" suspends it for all'),
    minutes: z.number().int().min(1).max(43_200).describe('How long, at most 30 days'),
    reason: z.string().min(1).max(500),
  })
  .strict();

export const ResumeBody = z.object({ provider: providerName.optional().describe('Lift controls for this provider only; all when absent') }).strict();

export const MovePoolBody = z
  .object({
    poolId: z.string().min(1).max(128),
    fallbackPoolId: z.string().min(1).max(128).nullable().optional().describe('Pool to overflow to when the own pool cannot send; null removes it'),
  })
  .strict();

const ScoreView = z.object({ score: z.number(), events: z.number(), good: z.number(), bad: z.number() });
const ProviderStanding = z.object({
  state: z.enum(['active', 'warming', 'throttled', 'suspended', 'quarantined']),
  score: ScoreView,
  suspendedUntil: z.string().optional(),
  throttledUntil: z.string().optional(),
  throttle: z.string().optional(),
});

export const IpView = z.object({
  id: z.string(),
  poolId: z.string(),
  ip: z.string(),
  ehloName: z.string(),
  weight: z.number(),
  state: ProviderStanding.shape.state,
  score: ScoreView,
  warmup: z.object({ day: z.number(), cap: z.number(), sentToday: z.number() }).nullable(),
  quarantine: z.object({ reason: z.string(), until: z.string().nullable() }).nullable(),
  controls: z.array(z.object({ provider: z.string(), kind: z.string(), until: z.string(), reason: z.string(), setBy: z.string() })),
  providers: z.record(z.string(), ProviderStanding),
});

export const IpDetailView = IpView.extend({
  recentOutcomes: z.record(
    z.string(),
    z.object({
      counts: z.record(z.string(), z.number()),
      last: z.array(z.object({ kind: z.string(), at: z.string(), ruleId: z.string().nullable(), tenantId: z.string() })),
    }),
  ),
});

export const PoolsView = z.object({
  pools: z.array(
    z.object({
      id: z.string(),
      name: z.string(),
      kind: z.enum(['shared', 'dedicated']),
      relay: z.string().nullable(),
      tenants: z.array(z.string()),
      fallbackFor: z.array(z.string()),
      ips: z.array(z.object({ id: z.string(), ip: z.string(), ehloName: z.string(), weight: z.number() })),
    }),
  ),
});

export const TenantPoolView = z.object({ tenantId: z.string(), poolId: z.string(), fallbackPoolId: z.string().nullable() });
