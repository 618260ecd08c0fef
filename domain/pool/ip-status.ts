// What selection and the operator API both need to know about a pool's IPs right now:
// active controls, warm-up step, IP quarantine and decayed reputation per provider.
import { and, gt, inArray, isNull, or, sql } from 'drizzle-orm';
import type { Db } from '../../db/client.js';
import { ALL_PROVIDERS, ipControls, ipQuarantine, ipWarmups } from '../../db/schema.js';
import { chargeOf, scoreOf, stateOf, type DecayedRow, type IpState, type Score } from './reputation.js';
import type { ProviderRules, RateLimit } from './rules.js';
import { warmupDay, type WarmupDay } from './warmup.js';

export interface IpRow {
  id: string;
  poolId: string;
  localAddress: string;
  ehloName: string;
  weight: number;
}

export interface Control {
  provider: string;
  kind: 'suspend' | 'throttle';
  until: number;
  rate: RateLimit | null;
  reason: string;
  setBy: string;
}

export interface IpStatus extends IpRow {
  warmup: WarmupDay | null;
  quarantine: { reason: string; until: number | null } | null;
  controls: Control[];
  overall: Score;
  byProvider: Record<string, Score>;
}

export interface ProviderView {
  state: IpState;
  score: Score;
  suspendedUntil?: number;
  throttle?: RateLimit;
  throttledUntil?: number;
}

const ts = (ms: number) => new Date(ms).toISOString();

export async function loadIpStatus(db: Db, rules: ProviderRules, ips: readonly IpRow[], now: number): Promise<IpStatus[]> {
  if (ips.length === 0) return [];
  const ids = ips.map((s) => s.id);
  const addresses = ips.map((s) => s.localAddress);
  const windowStart = now - rules.reputation.windowHours * 3_600_000;
  const halfLifeMs = rules.reputation.halfLifeMinutes * 60_000;
  const [controls, warmups, quarantines, outcomes, feedback, placement] = await Promise.all([
    db
      .select()
      .from(ipControls)
      .where(and(inArray(ipControls.ipId, ids), gt(ipControls.until, new Date(now)))),
    db.select().from(ipWarmups).where(inArray(ipWarmups.ipId, ids)),
    db
      .select()
      .from(ipQuarantine)
      .where(and(inArray(ipQuarantine.ip, addresses), or(isNull(ipQuarantine.until), gt(ipQuarantine.until, new Date(now))))),
    db.execute(sql`
      select egress_id as key, provider, kind,
        sum(power(0.5, greatest(0, extract(epoch from (${ts(now)}::timestamptz - at)) * 1000) / ${halfLifeMs}))::float8 as decayed,
        count(*)::int as count
      from reputation_events
      where egress_id in ${ids} and charge = 'ip' and at > ${ts(windowStart)}::timestamptz and at <= ${ts(now)}::timestamptz
      group by 1, 2, 3`),
    // Complaints and later bounces arrive through the feedback loops, keyed by source IP.
    db.execute(sql`
      select source_ip as key, coalesce(provider, 'other') as provider,
        case when kind = 'complaint' then 'complaint' else 'bounce:' || coalesce(class, 'other') end as kind,
        sum(power(0.5, greatest(0, extract(epoch from (${ts(now)}::timestamptz - received_at)) * 1000) / ${halfLifeMs}))::float8 as decayed,
        count(*)::int as count
      from feedback_events
      where source_ip in ${addresses} and kind in ('complaint', 'bounce') and received_at > ${ts(windowStart)}::timestamptz and received_at <= ${ts(now)}::timestamptz
      group by 1, 2, 3`),
    // Seed placement results (domain/placement/run.ts), per IP and the seed's provider.
    db.execute(sql`
      select ip_id as key, provider, 'placement:' || outcome as kind,
        sum(power(0.5, greatest(0, extract(epoch from (${ts(now)}::timestamptz - checked_at)) * 1000) / ${halfLifeMs}))::float8 as decayed,
        count(*)::int as count
      from placement_probes
      where ip_id in ${ids} and outcome in ('inbox', 'spam', 'missing') and checked_at > ${ts(windowStart)}::timestamptz and checked_at <= ${ts(now)}::timestamptz
      group by 1, 2, 3`),
  ]);
  type Agg = { key: string; provider: string; kind: string; decayed: number; count: number };
  const rowsFor = (s: IpRow): (DecayedRow & { provider: string })[] => [
    ...(outcomes as unknown as Agg[]).filter((r) => r.key === s.id),
    ...(feedback as unknown as Agg[]).filter((r) => r.key === s.localAddress && chargeOf(r.kind) === 'ip'),
    ...(placement as unknown as Agg[]).filter((r) => r.key === s.id),
  ];

  return ips.map((s) => {
    const rows = rowsFor(s);
    const byProvider: Record<string, Score> = {};
    for (const p of new Set(rows.map((r) => r.provider)))
      byProvider[p] = scoreOf(
        rows.filter((r) => r.provider === p),
        rules,
      );
    const w = warmups.find((x) => x.ipId === s.id);
    const q = quarantines.find((x) => x.ip === s.localAddress);
    return {
      ...s,
      warmup: warmupDay(w?.startedAt.getTime(), now, rules.warmup.dailyCaps),
      quarantine: q ? { reason: q.reason, until: q.until?.getTime() ?? null } : null,
      controls: controls
        .filter((c) => c.ipId === s.id)
        .map((c) => ({
          provider: c.provider,
          kind: c.kind,
          until: c.until.getTime(),
          rate: c.rateCount && c.ratePerMs ? { count: c.rateCount, perMs: c.ratePerMs } : null,
          reason: c.reason,
          setBy: c.setBy,
        })),
      overall: scoreOf(rows, rules),
      byProvider,
    };
  });
}

const noEvents: Score = { score: 100, events: 0, good: 0, bad: 0 };

/** How one IP stands for one provider (or for all, with provider '*'). */
export function providerView(s: IpStatus, provider: string, rules: ProviderRules, now: number): ProviderView {
  const applies = (c: Control) => c.until > now && (c.provider === provider || c.provider === ALL_PROVIDERS);
  const suspendedUntil = max(s.controls.filter((c) => c.kind === 'suspend' && applies(c)).map((c) => c.until));
  const throttles = s.controls.filter((c) => c.kind === 'throttle' && applies(c) && c.rate);
  const throttle = throttles.map((c) => c.rate!).sort((a, b) => a.count / a.perMs - b.count / b.perMs)[0];
  const score = provider === ALL_PROVIDERS ? s.overall : (s.byProvider[provider] ?? noEvents);
  // An IP-wide collapse quarantines the IP for every provider, not only the one that showed it.
  const quarantined = s.quarantine !== null || (provider !== ALL_PROVIDERS && stateOf({ score: s.overall }, rules, now) === 'quarantined');
  const throttledUntil = max(throttles.map((c) => c.until));
  const state = stateOf({ suspendedUntil, throttledUntil, quarantined, warming: s.warmup !== null, score }, rules, now);
  return { state, score, suspendedUntil, throttle, throttledUntil };
}

function max(xs: number[]): number | undefined {
  return xs.length ? Math.max(...xs) : undefined;
}
