import { decodeUserMetadata } from '@temporalio/common/lib/internal-non-workflow/index.js';
import { workflowMetadataQuery } from '@temporalio/workflow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseMaxAges } from '../domain/pool/max-age.js';
import { bundleWorkflows } from './helpers/engine.js';
import { rigRules, startProviderRig, type ProviderRig } from './helpers/provider-rig.js';
import { waitUntil } from './helpers/wait.js';

// A tenant whose every IP is suspended for one provider: the notification waits on a durable
// timer until the earliest suspension ends, or, past its category's maximum age, goes by push.
// This file's IPs and receiver address are used by no other test file.
let rig: ProviderRig;
let tenant: { tenantId: string; apiKey: string };
const sources = ['127.0.0.131', '127.0.0.132'];

beforeAll(async () => {
  rig = await startProviderRig({
    bundle: await bundleWorkflows(),
    rules: rigRules([{ name: 'gmail', match: { mxSuffix: ['.google.com'] } }]),
    providers: [{ domain: 'gmail.test', mx: 'gmail-smtp-in.l.google.com', address: '127.0.0.96' }],
    maxAges: parseMaxAges('transactions=2m,*=6h'),
  });
  const poolId = `wait-${rig.engine.tenantId}`;
  tenant = await rig.addTenant({
    pool: {
      id: poolId,
      name: 'wait pool',
      kind: 'dedicated',
      ips: sources.map((ip, i) => ({ id: `${poolId}-${i + 1}`, localAddress: ip, ehloName: `mta${i + 1}.wait.test` })),
    },
  });
});
afterAll(async () => rig?.stop());

const sql = () => rig.engine.database.sql;
/** Suspends every IP of the tenant's pool for Gmail, as a provider rule would. */
const suspendAll = (seconds: number) =>
  sql()`insert into egress_controls (egress_id, provider, kind, until, reason, set_by)
        select id, 'gmail', 'suspend', now() + make_interval(secs => ${seconds}), 'test: 421 4.7.28', 'gmail-4.7.28' from egress_sources where local_address in ${sql()(sources)}
        on conflict (egress_id, provider, kind) do update set until = excluded.until`;
const view = async (id: string) =>
  (await (await rig.engine.request('GET', `/v1/notifications/${id}`, { key: tenant.apiKey })).json()) as {
    status: string;
    deliveredChannels: string[];
    workflowId: string;
  };
const steps = async (id: string) =>
  (
    (await (await rig.engine.request('GET', `/v1/notifications/${id}/audit`, { key: tenant.apiKey })).json()) as {
      events: { step: string; detail: { until?: string } }[];
    }
  ).events;

describe('every IP suspended for the provider', () => {
  it('waits on a durable timer until the earliest suspension ends, then sends, with no retry spent', async () => {
    await suspendAll(6);
    const [row] = await sql()<
      { until: string }[]
    >`select min(until)::text as until from egress_controls where egress_id in (select id from egress_sources where local_address in ${sql()(sources)}) and provider = 'gmail'`;
    const id = await rig.notify(tenant, 'wanda@gmail.test');
    const waiting = await waitUntil(async () => (await steps(id)).find((e) => e.step === 'email.waiting'), 20_000, 'email.waiting');
    const until = new Date(row!.until).getTime();
    expect(Date.parse(waiting.detail.until!)).toBeGreaterThanOrEqual(until - 1000);
    expect((await view(id)).status).toBe('running');

    await waitUntil(async () => ((await view(id)).status === 'delivered' ? true : undefined), 30_000, 'delivered');
    const [mail] = rig.receivers['gmail.test']!.messages.filter((m) => m.headers['x-notification-id'] === id);
    expect(Date.parse(mail!.receivedAt)).toBeGreaterThanOrEqual(until);
    // The wait is a timer in the history; every activity ran in its first attempt.
    const history = await rig.engine.client.workflow.getHandle((await view(id)).workflowId).fetchHistory();
    const timers = history.events!.filter((e) => e.timerStartedEventAttributes);
    expect(timers.length).toBeGreaterThanOrEqual(1);
    // The Temporal UI says what the timer waits for, and the outcome names the IP and provider.
    const converter = rig.engine.client.options.loadedDataConverter;
    const timerSummaries = await Promise.all(timers.map(async (e) => (await decodeUserMetadata(converter, e.userMetadata)).staticSummary));
    expect(timerSummaries).toContainEqual(expect.stringContaining('waiting for an IP that may send to gmail'));
    const details = (await rig.engine.client.workflow.getHandle((await view(id)).workflowId).query(workflowMetadataQuery)).currentDetails;
    expect(details).toMatch(/email: delivered, IP 127\.0\.0\.13[12], provider gmail/);
    expect(details).not.toContain('wanda');
    const tries = history.events!.filter((e) => e.activityTaskStartedEventAttributes).map((e) => e.activityTaskStartedEventAttributes!.attempt);
    expect(tries.length, 'activity tasks started').toBeGreaterThan(0);
    expect(tries.every((n) => n === 1)).toBe(true);
  });

  it('hands the notification to push when the wait would pass the category maximum age', async () => {
    await suspendAll(3600);
    const put = await rig.engine.request('PUT', '/v1/users/xavier', {
      key: tenant.apiKey,
      body: { email: 'xavier@gmail.test', locale: 'en', pushTokens: ['tok-xavier'] },
    });
    expect(put.status).toBeLessThan(300);
    const res = await rig.engine.request('POST', '/v1/notifications', {
      key: tenant.apiKey,
      headers: { 'idempotency-key': 'xavier-1' },
      body: { userId: 'xavier', type: 'account.transaction', data: { amount: 12, currency: 'EUR', merchant: 'Shop', accountLast4: '4242' } },
    });
    const { id } = (await res.json()) as { id: string };
    const done = await waitUntil(
      async () => {
        const v = await view(id);
        return v.status === 'delivered' ? v : undefined;
      },
      30_000,
      'delivered by push',
    );
    expect(done.deliveredChannels).toEqual(['push']);
    expect(rig.receivers['gmail.test']!.messages.filter((m) => m.headers['x-notification-id'] === id)).toHaveLength(0);
    const result = await rig.engine.client.workflow.getHandle(done.workflowId).result();
    expect(result.results[0]).toMatchObject({ channel: 'email', outcome: 'failed', error: { type: 'TooLate' } });
    expect((await steps(id)).map((e) => e.step)).toContain('fallback');
  });
});
