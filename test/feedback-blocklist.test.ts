import { randomBytes } from 'node:crypto';
import { Client } from '@temporalio/client';
import { eq } from 'drizzle-orm';
import { encryptedDataConverter } from '../config/temporal.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultMonitoring } from '../domain/monitor/settings.js';
import { signatureHeader, verifyWebhookSignature } from '../domain/webhooks/sign.js';
import { alarms, ipQuarantine } from '../db/schema.js';
import { startDnsServer, type DnsServer } from '../dev/dns-server.js';
import { ensureMonitoringSchedules } from '../worker/schedules.js';
import { blocklistCheckWorkflow } from '../workflows/monitoring.js';
import { bundleWorkflows, startTestEngine, type TestEngine } from './helpers/engine.js';
import { startHttpReceiver } from './helpers/http-receiver.js';
import { putUser, settled, trigger } from './helpers/notify.js';
import { waitUntil } from './helpers/wait.js';

const adminKey = 'nf_admin_blocklist_test';
const operatorSecret = 'operator-hook-secret';
let engine: TestEngine;
let dns: DnsServer;
let operator: Awaited<ReturnType<typeof startHttpReceiver>>;
let scheduleIds: string[] = [];

beforeAll(async () => {
  // A real DNS server on loopback plays two DNSBLs: one lists 127.0.0.32, the other refuses every query
  // (the 127.255.255.254 answer Spamhaus gives open resolvers), which must not count as a listing.
  dns = await startDnsServer({
    zone: {
      a: {
        '32.0.0.127.bl.notiflow.test': ['127.0.0.2'],
        '31.0.0.127.refusing.notiflow.test': ['127.255.255.254'],
        '32.0.0.127.refusing.notiflow.test': ['127.255.255.254'],
      },
    },
  });
  // The operator endpoint is down for the first delivery: the alarm must be retried until acknowledged.
  operator = await startHttpReceiver(({ count }) => (count === 1 ? 503 : 200));
  engine = await startTestEngine({
    bundle: await bundleWorkflows(),
    // IPs of their own: reputation is per IP across the shared database.
    ips: ['127.0.0.31', '127.0.0.32'],
    // Shared: a listed IP is quarantined and the tenant keeps sending from the others (dedicated: see the last test).
    poolKind: 'shared',
    api: { adminKey },
    monitoring: {
      ...defaultMonitoring,
      dnsbl: { zones: ['bl.notiflow.test', 'refusing.notiflow.test'], servers: [dns.address], timeoutMs: 2000 },
      operatorWebhook: { url: `${operator.url}/alarms`, secret: operatorSecret },
    },
  });
});
afterAll(async () => {
  for (const id of scheduleIds)
    await engine?.client.schedule
      .getHandle(id)
      .delete()
      .catch(() => undefined);
  // Leave the shared database as found even if an assertion failed midway.
  await engine?.database.db.delete(ipQuarantine).where(eq(ipQuarantine.reason, 'dnsbl:bl.notiflow.test'));
  await engine?.stop();
  await operator?.close();
  await dns?.close();
});

const check = () => engine.client.workflow.execute(blocklistCheckWorkflow, { taskQueue: engine.taskQueue, workflowId: `blocklist-${Date.now()}` });
const openAlarms = async () =>
  (
    (await (await engine.request('GET', '/v1/admin/alarms?kind=blocklist', { key: adminKey })).json()) as {
      alarms: { id: string; scope: string; severity: string; notifiedAt: string | null; notifyAttempts: number }[];
    }
  ).alarms;

async function sendAndSeeIps(user: string, n: number): Promise<string[]> {
  const ips: string[] = [];
  for (let i = 0; i < n; i++) {
    const id = await trigger(engine, user, `${user}-${Date.now()}-${i}`);
    await settled(engine, id);
    ips.push(engine.inbox.messages.find((m) => m.headers['x-notification-id'] === id)!.remoteAddress);
  }
  return ips;
}

describe('blocklist monitoring', () => {
  it('the schedules are created at start, idempotently', async () => {
    const opts = { taskQueue: engine.taskQueue, idPrefix: engine.taskQueue, blocklistEvery: '15m', monitorEvery: '5m' } as const;
    scheduleIds = await ensureMonitoringSchedules(engine.client, opts);
    expect(await ensureMonitoringSchedules(engine.client, opts)).toEqual(scheduleIds);
    const described = await engine.client.schedule.getHandle(scheduleIds[0]!).describe();
    expect(described.action).toMatchObject({ type: 'startWorkflow', workflowType: 'blocklistCheckWorkflow', taskQueue: engine.taskQueue });
    expect(described.spec.intervals?.[0]?.every).toBe(15 * 60_000);
  });

  it('a schedule written under a payload key this worker does not hold is replaced, not a start-up crash', async () => {
    // Another deployment (or a retired key) wrote the placement schedule's arguments.
    const otherKey = `other-key:${randomBytes(32).toString('base64')}`;
    const other = new Client({ connection: engine.client.connection, dataConverter: encryptedDataConverter(otherKey) });
    const idPrefix = `${engine.taskQueue}-rekeyed`;
    const opts = { taskQueue: engine.taskQueue, idPrefix } as const;
    const ids = await ensureMonitoringSchedules(other, opts);
    await expect(engine.client.schedule.getHandle(`${idPrefix}-placement`).describe()).rejects.toThrow(/unknown key id/);
    expect(await ensureMonitoringSchedules(engine.client, opts)).toEqual(ids);
    const described = await engine.client.schedule.getHandle(`${idPrefix}-placement`).describe();
    expect(described.action).toMatchObject({ type: 'startWorkflow', workflowType: 'placementRunWorkflow', taskQueue: engine.taskQueue });
    for (const id of ids) await engine.client.schedule.getHandle(id).delete();
  });

  it('a listed IP is quarantined for all providers, an alarm raised and the operator told; delisted, it returns', async () => {
    await putUser(engine, 'liam', { email: 'liam@example.fr' }, { transactions: ['email'] });

    const report = await check();
    expect(report.listed).toEqual([{ ip: '127.0.0.32', zones: ['bl.notiflow.test'] }]);
    // Refused queries are errors, not listings: 127.0.0.31 stays in service.
    expect(report.errors).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ ip: '127.0.0.31', zone: 'refusing.notiflow.test', error: expect.stringMatching(/refused/) }),
      ]),
    );
    const [q] = await engine.database.db.select().from(ipQuarantine).where(eq(ipQuarantine.ip, '127.0.0.32'));
    expect(q).toMatchObject({ reason: 'dnsbl:bl.notiflow.test', until: null });
    expect(await engine.database.db.select().from(ipQuarantine).where(eq(ipQuarantine.ip, '127.0.0.31'))).toEqual([]);

    const [alarm] = await openAlarms();
    expect(alarm).toMatchObject({ scope: 'ip:127.0.0.32', severity: 'alarm' });
    // Delivered, signed, after the first refusal: retried until acknowledged.
    const hook = await waitUntil(async () => operator.requests.find((r) => r.answered === 200), 30_000, 'operator webhook acknowledged');
    expect(operator.requests[0]!.answered).toBe(503);
    expect(verifyWebhookSignature(operatorSecret, hook.headers[signatureHeader.toLowerCase()] as string, hook.body)).toBe(true);
    expect(JSON.parse(hook.body)).toMatchObject({ type: 'alarm', id: alarm!.id, kind: 'blocklist', scope: 'ip:127.0.0.32' });
    await waitUntil(async () => {
      const [row] = await engine.database.db.select().from(alarms).where(eq(alarms.id, alarm!.id));
      return row?.notifiedAt ? row : undefined;
    });

    // Traffic stops from the listed IP.
    expect(new Set(await sendAndSeeIps('liam', 6))).toEqual(new Set(['127.0.0.31']));

    // A second check while still listed raises nothing new.
    expect((await check()).newAlarms).toEqual([]);

    // Delisted: released at the next check, the alarm resolved, and the IP sends again.
    delete dns.zone.a!['32.0.0.127.bl.notiflow.test'];
    const after = await check();
    expect(after.released).toEqual(['127.0.0.32']);
    expect(await engine.database.db.select().from(ipQuarantine).where(eq(ipQuarantine.ip, '127.0.0.32'))).toEqual([]);
    expect(await openAlarms()).toEqual([]);
    const back = await waitUntil(
      async () => ((await sendAndSeeIps('liam', 1))[0] === '127.0.0.32' ? true : undefined),
      60_000,
      'mail from 127.0.0.32 again',
    );
    expect(back).toBe(true);
  });

  it('a listed dedicated IP puts its tenant on hold, and the alarm says why', async () => {
    const poolId = `${engine.tenantId}-pool`;
    const put = await engine.request('PUT', `/v1/admin/pools/${poolId}`, {
      key: adminKey,
      body: {
        name: 'Dedicated',
        kind: 'dedicated',
        relay: { host: engine.inbox.host, port: engine.inbox.port },
        ips: [
          { id: `${engine.tenantId}-ip1`, ip: '127.0.0.31', ehloName: 'mta1.bank.test', weight: 100 },
          { id: `${engine.tenantId}-ip2`, ip: '127.0.0.32', ehloName: 'mta2.bank.test', weight: 100 },
        ],
      },
    });
    expect(put.status).toBe(200);
    dns.zone.a!['32.0.0.127.bl.notiflow.test'] = ['127.0.0.2'];
    await check();
    const tenant = (await (await engine.request('GET', `/v1/admin/tenants/${engine.tenantId}`, { key: adminKey })).json()) as {
      status: string;
      statusReason: string;
    };
    expect(tenant).toMatchObject({
      status: 'held',
      statusReason: expect.stringMatching(/dedicated IP 127\.0\.0\.32 is listed on bl\.notiflow\.test/),
    });
    const alarmsNow = (await (await engine.request('GET', '/v1/admin/alarms?kind=tenant-held', { key: adminKey })).json()) as {
      alarms: { scope: string; message: string }[];
    };
    // Other test files share the database: only this tenant's hold alarms are this test's to count.
    expect(alarmsNow.alarms.filter((a) => a.scope === `tenant:${engine.tenantId}`)).toEqual([
      expect.objectContaining({ scope: `tenant:${engine.tenantId}`, message: expect.stringMatching(/on hold: its dedicated IP/) }),
    ]);
    delete dns.zone.a!['32.0.0.127.bl.notiflow.test'];
    await check();
  });
});
