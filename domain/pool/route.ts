// Per message: which IP of the tenant's pool sends it, to which host, under which limits;
// and afterwards, what the provider's reply means for that IP's reputation and controls.
import { and, eq, gt, inArray, sql } from 'drizzle-orm';
import type { Db } from '../../db/client.js';
import { ALL_PROVIDERS, ipControls, sendingIps, pools, reputationEvents, tenantFallbackPools, tenantHolds } from '../../db/schema.js';
import { classifyBounce } from '../feedback/bounce-class.js';
import { appendAudit } from '../audit/append.js';
import type { SmtpOutcome } from '../email/mailer.js';
import type { SmtpRoute } from '../email/smtp-route.js';
import type { TlsRequirement } from '../email/tls-policy.js';
import { publicAddressCheck } from '../webhooks/egress.js';
import { permanent, transient, type Refusal } from '../failures/refusal.js';
import { NullMxError, type MxLookup } from './mx-lookup.js';
import { classifyProvider } from './providers.js';
import { chargeOf, outcomeKind, selectionWeight } from './reputation.js';
import { mxAllowedBy, type MtaSts } from './mta-sts.js';
import { limitsFor, requiresTls, responseRulesFor, type ProviderRules, type RateLimit, type ResponseRule } from './rules.js';
import { pickWeighted } from './select-ip.js';
import type { MaxAges } from './max-age.js';
import { slotLimits } from './headroom.js';
import { releaseSlotSql, reserveSlot } from './slots.js';
import { loadIpStatus, providerView, type IpRow } from './ip-status.js';
import { TtlCache } from '../../lib/ttl-cache.js';

/** What routing needs beyond the database; entry points build it once (see delivery-deps.ts). */
export interface DeliveryDeps {
  rules: ProviderRules;
  /** MX lookups; without one, providers are known by domain only and only relay pools can send. */
  mx: MxLookup | null;
  /** Port for direct MX delivery (25 in production; a loopback receiver's port in dev and tests). */
  mxPort: number;
  /**
   * Which MX addresses direct delivery may connect to (webhooks/egress.ts publicAddressCheck with
   * MX_ALLOW_PRIVATE); absent: public addresses only.
   */
  mxAddressAllowed?: (address: string) => boolean;
  /** Recipient domains' MTA-STS policies; absent: none are looked up. */
  mtaSts?: MtaSts | null;
  /** Longest wait per category for an IP that may send, then the other channel (max-age.ts). */
  maxAges: MaxAges;
  now: () => number;
  random: () => number;
}

export interface Route {
  provider: string;
  poolId: string;
  ipId: string;
  sourceIp: string;
  smtp: SmtpRoute;
  reservationId: number;
}

export interface RouteVerdict {
  /** The reply blames the IP, not the message: retry from another IP instead of bouncing. */
  retryElsewhere: boolean;
  firedRules: string[];
}

/** A pool with its IPs: changed only by operators, so a worker may keep it briefly. */
export type PoolWithIps = typeof pools.$inferSelect & { ips: IpRow[] };

export interface PoolTopology {
  pool(poolId: string): Promise<PoolWithIps | undefined>;
  fallbackPoolId(tenantId: string): Promise<string | null>;
}

/**
 * Pools, their IPs and tenants' fallback pools, read from Postgres and kept `ttlMs` per worker
 * (0: read every time). Operator changes to pool membership reach the workers within the TTL;
 * reputation, controls and slots are never cached.
 */
export function poolTopology(db: Db, ttlMs: number): PoolTopology {
  const loadPool = async (poolId: string) => {
    const [pool] = await db.select().from(pools).where(eq(pools.id, poolId));
    if (!pool) return undefined;
    const ips = await db
      .select({
        id: sendingIps.id,
        poolId: sendingIps.poolId,
        localAddress: sendingIps.localAddress,
        ehloName: sendingIps.ehloName,
        weight: sendingIps.weight,
      })
      .from(sendingIps)
      .where(eq(sendingIps.poolId, poolId));
    return { ...pool, ips };
  };
  // Cached as { id } so "no fallback" is kept too.
  const loadFallback = async (tenantId: string) => {
    const [row] = await db.select({ poolId: tenantFallbackPools.poolId }).from(tenantFallbackPools).where(eq(tenantFallbackPools.tenantId, tenantId));
    return { id: row?.poolId ?? null };
  };
  if (ttlMs <= 0) return { pool: loadPool, fallbackPoolId: async (t) => (await loadFallback(t)).id };
  const poolCache = new TtlCache<string, PoolWithIps>(ttlMs, 1_000);
  const fallbackCache = new TtlCache<string, { id: string | null }>(ttlMs, 10_000);
  return {
    pool: (poolId) => poolCache.get(poolId, () => loadPool(poolId)),
    fallbackPoolId: async (tenantId) => (await fallbackCache.get(tenantId, () => loadFallback(tenantId)))?.id ?? null,
  };
}

const publicOnly = publicAddressCheck();

/** Never wait less than this between tries: the retry itself costs a workflow task. */
const MIN_WAIT_MS = 250;

export async function providerOf(
  d: DeliveryDeps,
  domain: string,
): Promise<{ provider: string; mxHosts: { exchange: string; addresses: string[] }[] | null }> {
  if (!d.mx) return { provider: classifyProvider(d.rules, domain, []), mxHosts: null };
  const mxHosts = await d.mx.lookup(domain);
  return {
    provider: classifyProvider(
      d.rules,
      domain,
      mxHosts.map((h) => h.exchange),
    ),
    mxHosts,
  };
}

/**
 * Picks the IP for one message: the tenant's pool (then its fallback pool, where the tenant
 * has one), minus IPs suspended or quarantined for this provider, weighted by weight x score,
 * and takes a send slot under the provider's limits. When no IP may send now it throws a
 * retryable failure whose delay is the time until the earliest one may.
 */
export async function chooseRoute(
  db: Db,
  d: DeliveryDeps,
  msg: { tenantId: string; poolId: string; recipientDomain: string; mandatory?: boolean; ipId?: string },
  topology: PoolTopology = poolTopology(db, 0),
): Promise<Route> {
  const now = d.now();
  const pool = await topology.pool(msg.poolId);
  if (!pool) throw permanent('NoPool', `Tenant ${msg.tenantId} has no usable sending pool`);

  let lookup: Awaited<ReturnType<typeof providerOf>>;
  try {
    lookup = await providerOf(d, msg.recipientDomain);
  } catch (err) {
    if (err instanceof NullMxError) throw permanent('NullMx', err.message);
    // A relay host does its own MX lookups: classify by domain and send; direct delivery must wait.
    if (!pool.relayHost) throw transient('DnsFailure', `MX lookup for ${msg.recipientDomain} failed: ${(err as Error).message}`, 30_000);
    lookup = { provider: classifyProvider(d.rules, msg.recipientDomain, []), mxHosts: null };
  }
  const { provider } = lookup;
  const tls = lookup.mxHosts && !pool.relayHost ? await tlsFor(d, provider, msg.recipientDomain) : undefined;

  const [hold] = await db
    .select()
    .from(tenantHolds)
    .where(
      and(eq(tenantHolds.tenantId, msg.tenantId), inArray(tenantHolds.provider, [provider, ALL_PROVIDERS]), gt(tenantHolds.until, new Date(now))),
    );
  if (hold)
    throw forProvider(
      transient('TenantHeld', `Tenant mail to ${provider} is held: ${hold.reason}`, Math.max(MIN_WAIT_MS, hold.until.getTime() - now)),
      provider,
    );

  const fallbackPoolId = await topology.fallbackPoolId(msg.tenantId);
  // A placement probe names its IP: that IP of the tenant's pool or none, never a fallback pool.
  const poolIds = [msg.poolId, ...(fallbackPoolId && fallbackPoolId !== msg.poolId && !msg.ipId ? [fallbackPoolId] : [])];
  const limits = limitsFor(d.rules, provider);
  const waits: number[] = [];

  for (const poolId of poolIds) {
    const p = poolId === pool.id ? pool : await topology.pool(poolId);
    if (!p) continue;
    const target = targetOf(p, lookup.mxHosts, d, msg.recipientDomain, tls);
    const ips = msg.ipId ? p.ips.filter((ip) => ip.id === msg.ipId) : p.ips;
    const statuses = await loadIpStatus(db, d.rules, ips, now);
    let candidates = statuses.flatMap((s) => {
      const view = providerView(s, provider, d.rules, now);
      if (view.state === 'suspended') {
        waits.push(view.suspendedUntil!);
        return [];
      }
      if (view.state === 'quarantined') {
        waits.push(s.quarantine?.until ?? now + (d.rules.reputation.halfLifeMinutes * 60_000) / 4);
        return [];
      }
      return [{ s, view, weight: selectionWeight(s.weight, view.score, d.rules, s.warmup?.share) }];
    });
    while (candidates.length > 0) {
      const pick = pickWeighted(candidates, d.random);
      if (!pick) break;
      candidates = candidates.filter((c) => c !== pick);
      // Mandatory alerts may use the slots bulk mail leaves free (headroom.ts).
      const slots = slotLimits(limits.connectionsPerIp, slower(limits.messageRate, pick.view.throttle), msg.mandatory ?? false);
      const slot = await reserveSlot(db, { ipId: pick.s.id, provider, now, connections: slots.connections, rate: slots.rate, warmup: pick.s.warmup });
      if (!slot.ok) {
        waits.push(slot.retryAt);
        continue;
      }
      return {
        provider,
        poolId,
        ipId: pick.s.id,
        sourceIp: pick.s.localAddress,
        reservationId: slot.reservationId,
        smtp: {
          ...target,
          localAddress: pick.s.localAddress,
          ehloName: pick.s.ehloName,
          maxConnections: limits.connectionsPerIp,
          maxMessages: limits.messagesPerConnection,
        },
      };
    }
  }
  const next = waits.length ? Math.min(...waits) : now + 60_000;
  const delay = Math.max(MIN_WAIT_MS, next - now);
  throw forProvider(
    transient('NoIpAvailable', `No IP of pool ${msg.poolId} may send to ${provider} now; next opening in ${Math.ceil(delay / 1000)} s`, delay),
    provider,
  );
}

/** A wait for an IP names its provider, so the workflow can say what it waits for. */
function forProvider(refusal: Refusal, provider: string): Refusal {
  refusal.provider = provider;
  return refusal;
}

/** Whether (and why) the MX session must be verified TLS, and the MTA-STS policy the MX hosts must match. */
async function tlsFor(d: DeliveryDeps, provider: string, domain: string) {
  const policy = (await d.mtaSts?.policyFor(domain)) ?? null;
  const required: TlsRequirement | undefined = requiresTls(d.rules, provider) ? 'provider-rule' : policy?.mode === 'enforce' ? 'mta-sts' : undefined;
  return { required, policy };
}

/**
 * Where the message goes: the pool's relay (the operator's own host, taken as configured), or every
 * address of every MX host in preference order, minus MX hosts an enforced MTA-STS policy does not
 * list and addresses direct delivery may not reach (loopback, private, link-local, metadata).
 */
function targetOf(
  pool: { relayHost: string | null; relayPort: number | null },
  mxHosts: { exchange: string; addresses: string[] }[] | null,
  d: DeliveryDeps,
  domain: string,
  tls: Awaited<ReturnType<typeof tlsFor>> | undefined,
): SmtpRoute {
  if (pool.relayHost && pool.relayPort) return { host: pool.relayHost, port: pool.relayPort };
  if (!mxHosts) throw permanent('NoMxLookup', 'Direct MX delivery needs a DNS resolver; this pool has no relay host');
  const listed = mxHosts.filter((h) => mxAllowedBy(tls?.policy ?? null, h.exchange));
  // RFC 8461 section 5: no listed MX is a temporary failure (the policy may be updated), never a send elsewhere.
  if (listed.length === 0)
    throw transient('MtaStsRefused', `The MTA-STS policy of ${domain} (enforce) lists none of its MX hosts; not sent`, 5 * 60_000);
  const allowed = d.mxAddressAllowed ?? publicOnly;
  const targets = listed.flatMap((h) => h.addresses.map((host) => ({ host, mxName: h.exchange })));
  const reachable = targets.filter((t) => allowed(t.host));
  if (targets.length > 0 && reachable.length === 0)
    throw permanent('MxNotPublic', `The mail hosts of ${domain} resolve only to private, loopback or link-local addresses; not sent`);
  const [first, ...fallbackHosts] = reachable;
  if (!first) throw permanent('NoMailHost', `${domain} has no reachable mail host`);
  return {
    ...first,
    port: d.mxPort,
    ...(fallbackHosts.length ? { fallbackHosts } : {}),
    ...(tls?.required ? { tlsRequired: tls.required } : {}),
  };
}

function slower(a: RateLimit, b: RateLimit | undefined): RateLimit {
  return b && b.count / b.perMs < a.count / a.perMs ? b : a;
}

/**
 * Records what the provider answered: frees the slot, logs the outcome against the IP (or the
 * tenant, for list-hygiene bounces), and applies the provider's response rules whose trigger fires.
 */
export async function finishRoute(
  db: Db,
  d: DeliveryDeps,
  route: Route,
  ctx: { tenantId: string; notificationId: string },
  outcome: SmtpOutcome,
): Promise<RouteVerdict> {
  const now = d.now();
  const reply = outcome.response.replace(/\s+/g, ' ');
  const matched = outcome.ok ? [] : responseRulesFor(d.rules, route.provider).filter((r) => new RegExp(r.regex, 'i').test(reply));
  const bounce = outcome.ok
    ? undefined
    : classifyBounce({ smtpCode: outcome.responseCode ?? null, status: outcome.enhancedCode ?? null, diagnostic: reply });
  const strongest = matched.find((r) => r.action === 'suspend') ?? matched.find((r) => r.action === 'throttle') ?? matched[0];
  const kind = outcomeKind({
    accepted: outcome.ok,
    temporary: !outcome.ok && outcome.kind === 'transient',
    bounceClass: bounce?.class,
    ruleAction: strongest?.action,
  });
  const event = db.insert(reputationEvents).values({
    ipId: route.ipId,
    provider: route.provider,
    tenantId: ctx.tenantId,
    kind,
    charge: chargeOf(kind),
    ruleId: matched.length ? matched.map((r) => r.id).join(' ') : null,
    at: new Date(now),
  });
  const fired: string[] = [];
  if (matched.length === 0) {
    // Frees the slot and logs the outcome in one statement (one round trip).
    await db.execute(sql`with released as (${releaseSlotSql(route.reservationId, now)}) ${event.getSQL()}`);
  } else {
    // A rule may suspend or throttle this source: the slot is freed only once that is recorded, so
    // no other send takes the slot in between and meets the same refusal.
    try {
      await event;
      for (const rule of matched) {
        if (!(await triggerFires(db, rule, route, ctx.tenantId, now))) continue;
        fired.push(rule.id);
        await applyRule(db, rule, route, ctx, now);
      }
    } finally {
      await db.execute(releaseSlotSql(route.reservationId, now));
    }
  }
  const retryElsewhere = !outcome.ok && (matched.some((r) => r.action !== 'holdTenant') || bounce?.class === 'blocklisted');
  return { retryElsewhere, firedRules: fired };
}

async function triggerFires(db: Db, rule: ResponseRule, route: Route, tenantId: string, now: number): Promise<boolean> {
  if (rule.trigger === 'immediate') return true;
  // Hits counted in the rule's scope: the IP x provider, or the tenant x provider for holds.
  const scope = rule.action === 'holdTenant' ? sql`tenant_id = ${tenantId}` : sql`egress_id = ${route.ipId}`;
  const [row] = (await db.execute(sql`
    select count(*)::int as hits from reputation_events
    where ${scope} and provider = ${route.provider} and ${rule.id} = any(string_to_array(rule_id, ' '))
      and at > ${new Date(now - 3_600_000).toISOString()}::timestamptz and at <= ${new Date(now).toISOString()}::timestamptz`)) as unknown as {
    hits: number;
  }[];
  return (row?.hits ?? 0) >= rule.trigger.perHour;
}

async function applyRule(db: Db, rule: ResponseRule, route: Route, ctx: { tenantId: string; notificationId: string }, now: number): Promise<void> {
  const until = new Date(now + rule.duration);
  const reason = `rule ${rule.id}`;
  if (rule.action === 'holdTenant') {
    await db
      .insert(tenantHolds)
      .values({ tenantId: ctx.tenantId, provider: route.provider, until, reason })
      .onConflictDoUpdate({
        target: [tenantHolds.tenantId, tenantHolds.provider],
        set: { until: sql`greatest(${tenantHolds.until}, excluded.until)`, reason },
      });
  } else {
    const values = {
      ipId: route.ipId,
      provider: route.provider,
      kind: rule.action,
      until,
      rateCount: rule.throttleRate?.count ?? null,
      ratePerMs: rule.throttleRate?.perMs ?? null,
      reason,
      setBy: rule.id,
      updatedAt: new Date(now),
    };
    // A rule that fires again extends the effect (KumoMTA does the same).
    await db
      .insert(ipControls)
      .values(values)
      .onConflictDoUpdate({
        target: [ipControls.ipId, ipControls.provider, ipControls.kind],
        set: {
          until: sql`greatest(${ipControls.until}, excluded.until)`,
          rateCount: values.rateCount,
          ratePerMs: values.ratePerMs,
          reason,
          setBy: rule.id,
          updatedAt: values.updatedAt,
        },
      });
  }
  const step = rule.action === 'suspend' ? 'ip.suspended' : rule.action === 'throttle' ? 'ip.throttled' : 'tenant.held';
  await appendAudit(db, {
    tenantId: ctx.tenantId,
    notificationId: ctx.notificationId,
    step,
    detail: { ipId: route.ipId, sourceIp: route.sourceIp, provider: route.provider, rule: rule.id, until: until.toISOString() },
  });
}
