import { createRoute, z } from '@hono/zod-openapi';
import { and, desc, eq, gt, inArray, sql } from 'drizzle-orm';
import { appendAudit } from '../domain/audit/append.js';
import { defaultDeliveryDeps } from '../domain/pool/delivery-deps.js';
import type { ProviderRules, RateLimit } from '../domain/pool/rules.js';
import { loadIpStatus, providerView, type ProviderView, type IpStatus } from '../domain/pool/ip-status.js';
import type { Db } from '../db/client.js';
import { ALL_PROVIDERS, ipControls, sendingIps, pools, reputationEvents, tenantFallbackPools, tenants } from '../db/schema.js';
import { adminAuth } from './admin-auth.js';
import { IpDetailView, IpView, MovePoolBody, PoolsView, ResumeBody, SuspendBody, TenantPoolView } from './admin-schemas.js';
import { BODY_PROBLEMS, jsonBody, jsonResponse, OPERATOR, problemResponses, router } from './contract.js';
import type { ApiDeps } from './env.js';
import { problems } from './problem.js';

const ipParam = z.object({ id: z.string().describe('IP id') });
/** Every operator route can answer an unsafe string (400) and a missing or wrong operator key (401). */
const OPERATOR_PROBLEMS = [400, 401] as const;

const listPools = createRoute({
  method: 'get',
  path: '/pools',
  summary: 'Pools with their IPs, tenants and fallback users',
  ...OPERATOR,
  responses: { 200: jsonResponse(PoolsView, 'Pools'), ...problemResponses(...OPERATOR_PROBLEMS) },
});
const listIps = createRoute({
  method: 'get',
  path: '/ips',
  summary: 'Every sending IP with its score and state, overall and per provider',
  ...OPERATOR,
  request: { query: z.object({ pool: z.string().optional().describe('Only the IPs of this pool') }) },
  responses: { 200: jsonResponse(z.object({ ips: z.array(IpView) }), 'IPs'), ...problemResponses(...OPERATOR_PROBLEMS, 422) },
});
const readIp = createRoute({
  method: 'get',
  path: '/ips/{id}',
  summary: 'One IP with its recent outcomes per provider (24 h)',
  ...OPERATOR,
  request: { params: ipParam },
  responses: { 200: jsonResponse(IpDetailView, 'The IP'), ...problemResponses(...OPERATOR_PROBLEMS, 404) },
});
const suspendIp = createRoute({
  method: 'post',
  path: '/ips/{id}/suspend',
  summary: 'Suspend an IP for one provider or all, for a time (audited)',
  ...OPERATOR,
  request: { params: ipParam, body: jsonBody(SuspendBody) },
  responses: { 200: jsonResponse(IpView, 'The IP'), ...problemResponses(...OPERATOR_PROBLEMS, ...BODY_PROBLEMS, 404) },
});
const resumeIp = createRoute({
  method: 'post',
  path: '/ips/{id}/resume',
  summary: 'Lift suspensions and throttles of an IP (audited)',
  ...OPERATOR,
  request: { params: ipParam, body: jsonBody(ResumeBody) },
  responses: { 200: jsonResponse(IpView, 'The IP'), ...problemResponses(...OPERATOR_PROBLEMS, ...BODY_PROBLEMS, 404) },
});
const moveTenant = createRoute({
  method: 'put',
  path: '/tenants/{tenantId}/pool',
  summary: "Move a tenant to another pool and set its fallback pool (audited); another tenant's dedicated pool is refused",
  ...OPERATOR,
  request: { params: z.object({ tenantId: z.string() }), body: jsonBody(MovePoolBody) },
  responses: { 200: jsonResponse(TenantPoolView, 'The binding'), ...problemResponses(...OPERATOR_PROBLEMS, ...BODY_PROBLEMS, 404, 409) },
});

/** Audit rows about shared infrastructure (IPs) belong to no tenant. */
const OPERATOR_TENANT = '*';

/** Operator API: pools, IPs with scores, states and recent outcomes; suspend/resume; move tenants. */
export function adminApi(deps: ApiDeps) {
  const { db } = deps;
  const rules = () => deps.providerRules ?? defaultDeliveryDeps().rules;
  const app = router();
  app.use(adminAuth(deps.adminKey));

  app.openapi(listPools, async (c) => {
    const [poolRows, ips, tenantRows, fallbacks] = await Promise.all([
      db.select().from(pools).orderBy(pools.id),
      db.select().from(sendingIps).orderBy(sendingIps.id),
      db.select({ id: tenants.id, poolId: tenants.poolId }).from(tenants),
      db.select().from(tenantFallbackPools),
    ]);
    const body: z.infer<typeof PoolsView> = {
      pools: poolRows.map((p) => ({
        id: p.id,
        name: p.name,
        kind: p.kind,
        relay: p.relayHost ? `${p.relayHost}:${p.relayPort}` : null,
        tenants: tenantRows.filter((t) => t.poolId === p.id).map((t) => t.id),
        fallbackFor: fallbacks.filter((f) => f.poolId === p.id).map((f) => f.tenantId),
        ips: ips.filter((s) => s.poolId === p.id).map((s) => ({ id: s.id, ip: s.localAddress, ehloName: s.ehloName, weight: s.weight })),
      })),
    };
    return c.json(body, 200);
  });

  app.openapi(listIps, async (c) => {
    const poolId = c.req.valid('query').pool;
    const rows = await db
      .select()
      .from(sendingIps)
      .where(poolId ? eq(sendingIps.poolId, poolId) : undefined)
      .orderBy(sendingIps.id);
    const now = Date.now();
    const statuses = await loadIpStatus(db, rules(), rows, now);
    const sent = await sentToday(db, statuses);
    return c.json({ ips: statuses.map((s) => ipView(s, rules(), now, sent.get(s.id) ?? 0)) }, 200);
  });

  app.openapi(readIp, async (c) => {
    const s = await loadOne(db, rules(), c.req.valid('param').id);
    const now = Date.now();
    const since = new Date(now - 24 * 3_600_000);
    const events = await db
      .select()
      .from(reputationEvents)
      .where(and(eq(reputationEvents.ipId, s.id), gt(reputationEvents.at, since)))
      .orderBy(desc(reputationEvents.at))
      .limit(1000);
    const recentOutcomes: z.infer<typeof IpDetailView>['recentOutcomes'] = {};
    for (const e of events) {
      const p = (recentOutcomes[e.provider] ??= { counts: {}, last: [] });
      p.counts[e.kind] = (p.counts[e.kind] ?? 0) + 1;
      if (p.last.length < 10) p.last.push({ kind: e.kind, at: e.at.toISOString(), ruleId: e.ruleId, tenantId: e.tenantId });
    }
    const sent = await sentToday(db, [s]);
    return c.json({ ...ipView(s, rules(), now, sent.get(s.id) ?? 0), recentOutcomes } satisfies z.infer<typeof IpDetailView>, 200);
  });

  app.openapi(suspendIp, async (c) => {
    const s = await loadOne(db, rules(), c.req.valid('param').id);
    const body = c.req.valid('json');
    const until = new Date(Date.now() + body.minutes * 60_000);
    await db.transaction(async (tx) => {
      await tx
        .insert(ipControls)
        .values({ ipId: s.id, provider: body.provider, kind: 'suspend', until, reason: body.reason, setBy: 'operator' })
        .onConflictDoUpdate({
          target: [ipControls.ipId, ipControls.provider, ipControls.kind],
          set: { until, reason: body.reason, setBy: 'operator', updatedAt: new Date() },
        });
      await appendAudit(tx, {
        tenantId: OPERATOR_TENANT,
        step: 'ip.suspended',
        detail: { ipId: s.id, sourceIp: s.localAddress, provider: body.provider, until: until.toISOString(), reason: body.reason, by: 'operator' },
      });
    });
    return c.json(await viewOf(db, rules(), s.id), 200);
  });

  app.openapi(resumeIp, async (c) => {
    const s = await loadOne(db, rules(), c.req.valid('param').id);
    const body = c.req.valid('json');
    await db.transaction(async (tx) => {
      const lifted = await tx
        .delete(ipControls)
        .where(and(eq(ipControls.ipId, s.id), body.provider ? eq(ipControls.provider, body.provider) : undefined))
        .returning({ provider: ipControls.provider, kind: ipControls.kind });
      await appendAudit(tx, {
        tenantId: OPERATOR_TENANT,
        step: 'ip.resumed',
        detail: { ipId: s.id, sourceIp: s.localAddress, provider: body.provider ?? ALL_PROVIDERS, lifted, by: 'operator' },
      });
    });
    return c.json(await viewOf(db, rules(), s.id), 200);
  });

  app.openapi(moveTenant, async (c) => {
    const tenantId = c.req.valid('param').tenantId;
    const body = c.req.valid('json');
    const [tenant] = await db.select().from(tenants).where(eq(tenants.id, tenantId));
    if (!tenant) throw problems.notFound(`Tenant '${tenantId}' does not exist`);
    const wanted = [body.poolId, ...(body.fallbackPoolId ? [body.fallbackPoolId] : [])];
    const found = await db.select().from(pools).where(inArray(pools.id, wanted));
    for (const [field, id] of [
      ['poolId', body.poolId],
      ['fallbackPoolId', body.fallbackPoolId],
    ] as const) {
      if (!id) continue;
      const pool = found.find((p) => p.id === id);
      if (!pool) throw problems.invalid(`Pool '${id}' does not exist`, [{ path: `body.${field}`, message: 'unknown pool' }]);
      // A dedicated pool carries one tenant's reputation: nobody else may send from it, not even as fallback.
      if (pool.kind === 'dedicated') {
        const [owner] = await db
          .select({ id: tenants.id })
          .from(tenants)
          .where(and(eq(tenants.poolId, id), sql`${tenants.id} <> ${tenantId}`))
          .limit(1);
        if (owner) throw problems.conflict(`Pool '${id}' is dedicated to another tenant`);
      }
    }
    const [fallback] = await db.select().from(tenantFallbackPools).where(eq(tenantFallbackPools.tenantId, tenantId));
    const fallbackPoolId = body.fallbackPoolId === undefined ? (fallback?.poolId ?? null) : body.fallbackPoolId;
    await db.transaction(async (tx) => {
      await tx.update(tenants).set({ poolId: body.poolId }).where(eq(tenants.id, tenantId));
      if (fallbackPoolId) {
        await tx
          .insert(tenantFallbackPools)
          .values({ tenantId, poolId: fallbackPoolId })
          .onConflictDoUpdate({ target: tenantFallbackPools.tenantId, set: { poolId: fallbackPoolId } });
      } else {
        await tx.delete(tenantFallbackPools).where(eq(tenantFallbackPools.tenantId, tenantId));
      }
      await appendAudit(tx, {
        tenantId,
        step: 'tenant.pool_changed',
        detail: { from: tenant.poolId, to: body.poolId, fallbackFrom: fallback?.poolId ?? null, fallbackTo: fallbackPoolId, by: 'operator' },
      });
    });
    return c.json({ tenantId, poolId: body.poolId, fallbackPoolId } satisfies z.infer<typeof TenantPoolView>, 200);
  });

  return app;
}

async function loadOne(db: Db, rules: ProviderRules, id: string): Promise<IpStatus> {
  const [row] = await db.select().from(sendingIps).where(eq(sendingIps.id, id));
  if (!row) throw problems.notFound(`IP '${id}' does not exist`);
  const [s] = await loadIpStatus(db, rules, [row], Date.now());
  return s!;
}

async function viewOf(db: Db, rules: ProviderRules, id: string) {
  const s = await loadOne(db, rules, id);
  return ipView(s, rules, Date.now(), (await sentToday(db, [s])).get(s.id) ?? 0);
}

async function sentToday(db: Db, statuses: IpStatus[]): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const s of statuses) {
    if (!s.warmup) continue;
    const [row] = (await db.execute(
      sql`select count(*)::int as n from send_reservations where egress_id = ${s.id} and reserved_at >= ${new Date(s.warmup.dayStart).toISOString()}::timestamptz`,
    )) as unknown as { n: number }[];
    out.set(s.id, row?.n ?? 0);
  }
  return out;
}

const iso = (ms: number | undefined) => (ms === undefined ? undefined : new Date(ms).toISOString());
const rateText = (r: RateLimit | undefined) => (r ? `${r.count}/${r.perMs / 1000}s` : undefined);

function standing(v: ProviderView) {
  return {
    state: v.state,
    score: v.score,
    suspendedUntil: iso(v.suspendedUntil),
    throttledUntil: iso(v.throttledUntil),
    throttle: rateText(v.throttle),
  };
}

function ipView(s: IpStatus, rules: ProviderRules, now: number, sent: number): z.infer<typeof IpView> {
  const overall = providerView(s, ALL_PROVIDERS, rules, now);
  const providers: Record<string, ReturnType<typeof standing>> = {};
  const names = new Set([...Object.keys(s.byProvider), ...s.controls.map((c) => c.provider).filter((p) => p !== ALL_PROVIDERS)]);
  for (const p of [...names].sort()) providers[p] = standing(providerView(s, p, rules, now));
  return {
    id: s.id,
    poolId: s.poolId,
    ip: s.localAddress,
    ehloName: s.ehloName,
    weight: s.weight,
    state: overall.state,
    score: overall.score,
    warmup: s.warmup ? { day: s.warmup.day, cap: s.warmup.cap, sentToday: sent } : null,
    quarantine: s.quarantine ? { reason: s.quarantine.reason, until: iso(s.quarantine.until ?? undefined) ?? null } : null,
    controls: s.controls.map((c) => ({
      provider: c.provider,
      kind: c.kind,
      until: new Date(c.until).toISOString(),
      reason: c.reason,
      setBy: c.setBy,
    })),
    providers,
  };
}
