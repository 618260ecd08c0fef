import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundleWorkflows } from './helpers/engine.js';
import { startProviderRig, type ProviderRig } from './helpers/provider-rig.js';
import { waitUntil } from './helpers/wait.js';

// Reputation follows the IP across pools and tenants, so this file's IPs are used by no other test file.
let rig: ProviderRig;
let tenant: { tenantId: string; apiKey: string };
let poolId: string;

beforeAll(async () => {
  rig = await startProviderRig({
    bundle: await bundleWorkflows(),
    rules: {
      version: 1,
      defaults: { connectionsPerIp: 4, messagesPerConnection: 50, messageRate: '50/s' },
      reputation: { halfLifeMinutes: 360, windowHours: 48, priorGood: 5, norm: 60, quarantineBelow: 20, minEvents: 5 },
      warmup: { dailyCaps: [100] },
      providers: [{ name: 'gmail', match: { mxSuffix: ['.google.com'] } }],
    },
    providers: [{ domain: 'gmail.test', mx: 'gmail-smtp-in.l.google.com', address: '127.0.0.90' }],
  });
  poolId = `admin-${rig.engine.tenantId}`;
  tenant = await rig.addTenant({
    pool: {
      id: poolId,
      name: 'admin pool',
      kind: 'shared',
      ips: ['127.0.0.121', '127.0.0.122'].map((ip, i) => ({ id: `${poolId}-${i + 1}`, localAddress: ip, ehloName: `mta${i + 1}.admin.test` })),
    },
  });
});
afterAll(async () => rig?.stop());

async function sendAndWait(n: number) {
  const ids = await Promise.all(Array.from({ length: n }, (_, i) => rig.notify(tenant, `a${i}-${Date.now()}@gmail.test`)));
  await waitUntil(async () => {
    const views = await Promise.all(
      ids.map(
        async (id) => (await (await rig.engine.request('GET', `/v1/notifications/${id}`, { key: tenant.apiKey })).json()) as { status: string },
      ),
    );
    return views.every((v) => v.status === 'delivered');
  }, 60_000);
  return ids;
}

const operatorAudit = (step: string) =>
  rig.engine.database.sql<
    { tenant_id: string; detail: Record<string, unknown> }[]
  >`select tenant_id, detail from audit_events where step = ${step} and detail->>'ipId' like ${`${poolId}-%`} order by id`;

describe('the operator API', () => {
  it('is closed to tenant keys and to requests without the operator key', async () => {
    expect((await rig.engine.request('GET', '/v1/admin/pools', { key: tenant.apiKey })).status).toBe(401);
    expect((await rig.engine.request('GET', '/v1/admin/pools', { key: null })).status).toBe(401);
    const ok = await rig.admin('GET', '/v1/admin/pools');
    expect(ok.status).toBe(200);
    const { pools } = (await ok.json()) as { pools: { id: string; kind: string; tenants: string[]; ips: { ip: string }[] }[] };
    expect(pools.find((p) => p.id === poolId)).toMatchObject({
      kind: 'shared',
      tenants: [tenant.tenantId],
      ips: [{ ip: '127.0.0.121' }, { ip: '127.0.0.122' }],
    });
  });

  it('shows scores and recent outcomes, suspends an IP by hand (mail avoids it) and resumes it, with every change audited', async () => {
    await sendAndWait(6);
    const detail = (await (await rig.admin('GET', `/v1/admin/ips/${poolId}-1`)).json()) as {
      state: string;
      score: { score: number };
      recentOutcomes: Record<string, { counts: Record<string, number> }>;
    };
    expect(detail.state).toBe('active');
    expect(detail.score.score).toBe(100);
    const list = (await (await rig.admin('GET', `/v1/admin/ips?pool=${poolId}`)).json()) as { ips: { id: string }[] };
    expect(list.ips.map((i) => i.id)).toEqual([`${poolId}-1`, `${poolId}-2`]);

    const bad = await rig.admin('POST', `/v1/admin/ips/${poolId}-1/suspend`, { provider: 'gmail', minutes: 0, reason: '' });
    expect(bad.status).toBe(422);
    expect(bad.headers.get('content-type')).toContain('application/problem+json');
    expect((await rig.admin('POST', '/v1/admin/ips/no-such-ip/suspend', { minutes: 5, reason: 'x' })).status).toBe(404);

    const suspended = await rig.admin('POST', `/v1/admin/ips/${poolId}-1/suspend`, {
      provider: 'gmail',
      minutes: 60,
      reason: 'investigating complaints',
    });
    expect(suspended.status).toBe(200);
    expect(((await suspended.json()) as { providers: Record<string, { state: string }> }).providers.gmail!.state).toBe('suspended');
    const before = rig.receivers['gmail.test']!.messages.length;
    await sendAndWait(6);
    expect(new Set(rig.receivers['gmail.test']!.messages.slice(before).map((m) => m.remoteAddress))).toEqual(new Set(['127.0.0.122']));

    const resumed = await rig.admin('POST', `/v1/admin/ips/${poolId}-1/resume`, {});
    expect(((await resumed.json()) as { providers: Record<string, { state: string }> }).providers.gmail!.state).toBe('active');

    const after = (await (await rig.admin('GET', `/v1/admin/ips/${poolId}-2`)).json()) as {
      recentOutcomes: Record<string, { counts: Record<string, number> }>;
    };
    expect(after.recentOutcomes.gmail!.counts.delivered).toBeGreaterThanOrEqual(6);

    expect(await operatorAudit('ip.suspended')).toEqual([
      {
        tenant_id: '*',
        detail: expect.objectContaining({ ipId: `${poolId}-1`, provider: 'gmail', reason: 'investigating complaints', by: 'operator' }),
      },
    ]);
    expect(await operatorAudit('ip.resumed')).toEqual([{ tenant_id: '*', detail: expect.objectContaining({ ipId: `${poolId}-1`, by: 'operator' }) }]);
  });

  it('moves a tenant to another pool, and its mail follows', async () => {
    await rig.addTenant({
      pool: {
        id: `${poolId}-b`,
        name: 'second pool',
        kind: 'shared',
        ips: [{ id: `${poolId}-b1`, localAddress: '127.0.0.123', ehloName: 'mta.b.test' }],
      },
    });
    expect((await rig.admin('PUT', `/v1/admin/tenants/${tenant.tenantId}/pool`, { poolId: 'nope' })).status).toBe(422);
    expect((await rig.admin('PUT', '/v1/admin/tenants/nobody/pool', { poolId })).status).toBe(404);
    const moved = await rig.admin('PUT', `/v1/admin/tenants/${tenant.tenantId}/pool`, { poolId: `${poolId}-b`, fallbackPoolId: poolId });
    expect(moved.status).toBe(200);
    expect(await moved.json()).toEqual({ tenantId: tenant.tenantId, poolId: `${poolId}-b`, fallbackPoolId: poolId });
    const before = rig.receivers['gmail.test']!.messages.length;
    await sendAndWait(3);
    expect(new Set(rig.receivers['gmail.test']!.messages.slice(before).map((m) => m.remoteAddress))).toEqual(new Set(['127.0.0.123']));
    const [audit] = await rig.engine.database.sql<{ detail: Record<string, unknown> }[]>`
      select detail from audit_events where tenant_id = ${tenant.tenantId} and step = 'tenant.pool_changed'`;
    expect(audit!.detail).toMatchObject({ from: poolId, to: `${poolId}-b`, fallbackTo: poolId, by: 'operator' });
  });
});
