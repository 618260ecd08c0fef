import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ProviderRulesInput } from '../domain/pool/rules.js';
import { bundleWorkflows } from './helpers/engine.js';
import { maxInWindow, startProviderRig, type ProviderRig } from './helpers/provider-rig.js';
import { waitUntil } from './helpers/wait.js';

// Three receivers acting as Gmail, Outlook and a small provider, reached by direct MX delivery
// through a real DNS server; a shared pool of three loopback IPs; two workers on one queue.

const RATE = { count: 3, perMs: 1000 };
const rules: ProviderRulesInput = {
  version: 1,
  defaults: { connectionsPerIp: 2, messagesPerConnection: 5, messageRate: `${RATE.count}/s` },
  reputation: { halfLifeMinutes: 360, windowHours: 48, priorGood: 5, norm: 60, quarantineBelow: 20, minEvents: 5 },
  warmup: { dailyCaps: [1000] },
  defaultResponses: [],
  providers: [
    {
      name: 'gmail',
      match: { mxSuffix: ['.google.com'], domainSuffix: ['gmail.com'] },
      responses: [{ id: 'gmail-4.7.28', regex: '4\\.7\\.28', trigger: 'immediate', action: 'suspend', duration: '1h' }],
    },
    {
      name: 'outlook',
      match: { mxSuffix: ['.olc.protection.outlook.com'], domainSuffix: ['outlook.com'] },
      responses: [
        { id: 'outlook-blocklist', regex: 'part of their network is on our block list', trigger: 'immediate', action: 'suspend', duration: '2h' },
      ],
    },
  ],
};

const GMAIL_LIMIT_AFTER = 3;
const rejections: { provider: string; ip: string; at: number; code: number }[] = [];
const gmailCount = new Map<string, number>();

let rig: ProviderRig;
let shared: { tenantId: string; apiKey: string };
const pool = (tag: string) => `shared-${tag}`;

beforeAll(async () => {
  rig = await startProviderRig({
    bundle: await bundleWorkflows(),
    rules,
    workers: 2,
    providers: [
      {
        domain: 'gmail.test',
        mx: 'gmail-smtp-in.l.google.com',
        address: '127.0.0.60',
        inbox: {
          // Gmail-style rate limiting of one source IP after N messages from it.
          onRcpt: ({ remoteAddress }) => {
            const n = (gmailCount.get(remoteAddress) ?? 0) + 1;
            gmailCount.set(remoteAddress, n);
            if (remoteAddress !== '127.0.0.3' || n <= GMAIL_LIMIT_AFTER) return undefined;
            rejections.push({ provider: 'gmail', ip: remoteAddress, at: Date.now(), code: 421 });
            return { code: 421, message: '4.7.28 Our system has detected an unusual rate of unsolicited mail originating from your IP address.' };
          },
        },
      },
      {
        domain: 'outlook.test',
        mx: 'eur.olc.protection.outlook.com',
        address: '127.0.0.61',
        inbox: {
          // A blocklist reply to one source IP only.
          onRcpt: ({ remoteAddress }) => {
            if (remoteAddress !== '127.0.0.4') return undefined;
            rejections.push({ provider: 'outlook', ip: remoteAddress, at: Date.now(), code: 550 });
            return {
              code: 550,
              message:
                "5.7.1 Unfortunately, messages from [127.0.0.4] weren't sent. Please contact your Internet service provider since part of their network is on our block list (S3150).",
            };
          },
        },
      },
      { domain: 'other.test', mx: 'mx1.other.test', address: '127.0.0.62' },
    ],
  });
  shared = await rig.addTenant({
    pool: {
      id: pool(rig.engine.tenantId),
      name: 'shared pool',
      kind: 'shared',
      ips: ['127.0.0.2', '127.0.0.3', '127.0.0.4'].map((ip, i) => ({
        id: `${rig.engine.tenantId}-s${i + 2}`,
        localAddress: ip,
        ehloName: `mta${i + 2}.pool.test`,
      })),
    },
  });
});
afterAll(async () => rig?.stop());

async function deliveredAll(ids: string[], key: string) {
  return waitUntil(
    async () => {
      const views = await Promise.all(
        ids.map(async (id) => (await (await rig.engine.request('GET', `/v1/notifications/${id}`, { key })).json()) as { status: string }),
      );
      const notDone = views.filter((v) => v.status !== 'delivered');
      if (notDone.some((v) => v.status === 'failed')) throw new Error(`a notification failed: ${JSON.stringify(notDone)}`);
      return notDone.length === 0 ? views : undefined;
    },
    120_000,
    'all notifications delivered',
  );
}

const arrivalsBy = (domain: string) => rig.receivers[domain]!.messages;
const ipsOf = (domain: string, after = 0) =>
  new Set(
    arrivalsBy(domain)
      .filter((m) => Date.parse(m.receivedAt) > after)
      .map((m) => m.remoteAddress),
  );

describe('provider rules on a shared pool', () => {
  it('moves traffic off a rate-limited or blocklisted IP for that provider only, within per-IP limits, losing and duplicating nothing', async () => {
    // Wave 1: Gmail only, until 127.0.0.3 gets its 421-4.7.28.
    const wave1: string[] = [];
    for (let batch = 0; batch < 10 && !rejections.some((r) => r.provider === 'gmail'); batch++) {
      const ids = await Promise.all(Array.from({ length: 6 }, (_, i) => rig.notify(shared, `g${batch}-${i}@gmail.test`)));
      await deliveredAll(ids, shared.apiKey);
      wave1.push(...ids);
    }
    const gmail421 = rejections.filter((r) => r.provider === 'gmail');
    expect(gmail421.length).toBeGreaterThan(0);
    const suspendedAt = gmail421[0]!.at;

    // Wave 2: every provider at once; Outlook blocks 127.0.0.4.
    const wave2 = await Promise.all([
      ...Array.from({ length: 10 }, (_, i) => rig.notify(shared, `g2-${i}@gmail.test`)),
      ...Array.from({ length: 10 }, (_, i) => rig.notify(shared, `o${i}@outlook.test`)),
      ...Array.from({ length: 10 }, (_, i) => rig.notify(shared, `x${i}@other.test`)),
    ]);
    await deliveredAll(wave2, shared.apiKey);
    const blockedAt = rejections.find((r) => r.provider === 'outlook')!.at;

    // Wave 3: the small provider again, after both suspensions.
    const wave3 = await Promise.all(Array.from({ length: 15 }, (_, i) => rig.notify(shared, `y${i}@other.test`)));
    await deliveredAll(wave3, shared.apiKey);

    // Gmail: nothing from .3 after its rate limit but sends already under way on its connections
    // (at most 2 per worker). The refused send keeps its slot until the suspension is written.
    // Counted at the receiver: every refusal it gave is a try the engine made and recorded (the
    // mailer never sends a message again by itself).
    const inFlight = 2 * 2;
    const gmailRefusals = rejections.filter((r) => r.provider === 'gmail').length;
    expect(gmailRefusals).toBeLessThanOrEqual(inFlight);
    const refusedTries = await rig.engine.database.sql<{ n: number }[]>`
      select count(*)::int as n from delivery_attempts a join notifications n on n.id = a.notification_id
      where n.tenant_id = ${shared.tenantId} and a.provider = 'gmail' and a.source_ip = '127.0.0.3' and a.outcome <> 'accepted' and a.response like '%4.7.28%'`;
    expect(refusedTries[0]!.n).toBe(gmailRefusals);
    expect(ipsOf('gmail.test', suspendedAt + 1000)).toEqual(new Set(['127.0.0.2', '127.0.0.4']));
    // Outlook: .4 never got through, was tried at most by the sends in flight, and the others carried it.
    expect(ipsOf('outlook.test').has('127.0.0.4')).toBe(false);
    expect(rejections.filter((r) => r.provider === 'outlook').length).toBeLessThanOrEqual(inFlight);
    // Both suspended IPs kept sending to the other providers afterwards.
    expect(ipsOf('other.test', Math.max(suspendedAt, blockedAt))).toEqual(new Set(['127.0.0.2', '127.0.0.3', '127.0.0.4']));
    expect(ipsOf('outlook.test', suspendedAt).has('127.0.0.3')).toBe(true);
    expect(ipsOf('gmail.test', blockedAt).has('127.0.0.4')).toBe(true);

    // Every notification arrived exactly once.
    const all = [...wave1, ...wave2, ...wave3];
    const seen = Object.values(rig.receivers).flatMap((r) => r.messages.map((m) => m.headers['x-notification-id']));
    expect(seen.length).toBe(all.length);
    expect(new Set(seen)).toEqual(new Set(all));

    // Per-IP message rate at each receiver at or under the configured limit, with two workers sending.
    for (const [domain, inbox] of Object.entries(rig.receivers)) {
      for (const ip of new Set(inbox.messages.map((m) => m.remoteAddress))) {
        const times = inbox.messages.filter((m) => m.remoteAddress === ip).map((m) => Date.parse(m.receivedAt));
        expect(maxInWindow(times, RATE.perMs), `${domain} from ${ip}`).toBeLessThanOrEqual(RATE.count);
      }
    }
    // Both workers did SMTP work.
    expect(rig.mailers.map((m) => m.stats().transports > 0)).toEqual([true, true]);

    // Delivery attempts carry the provider; the rule firings are in the audit trail.
    const attempts = await rig.engine.database.sql<{ provider: string; n: number }[]>`
      select provider, count(*)::int as n from delivery_attempts a join notifications n on n.id = a.notification_id
      where n.tenant_id = ${shared.tenantId} and a.outcome = 'accepted' group by provider order by provider`;
    expect(attempts).toEqual([
      { provider: 'gmail', n: wave1.length + 10 },
      { provider: 'other', n: 25 },
      { provider: 'outlook', n: 10 },
    ]);
    const steps = await rig.engine.database.sql<{ step: string; detail: { sourceIp: string; provider: string } }[]>`
      select step, detail from audit_events where tenant_id = ${shared.tenantId} and step = 'ip.suspended'`;
    expect(new Set(steps.map((s) => `${s.detail.sourceIp}@${s.detail.provider}`))).toEqual(new Set(['127.0.0.3@gmail', '127.0.0.4@outlook']));

    // The operator API shows the states and scores these sends produced.
    const res = await rig.admin('GET', `/v1/admin/ips?pool=${pool(rig.engine.tenantId)}`);
    expect(res.status).toBe(200);
    const { ips } = (await res.json()) as {
      ips: { ip: string; state: string; providers: Record<string, { state: string; score: { score: number; events: number } }> }[];
    };
    const byIp = Object.fromEntries(ips.map((i) => [i.ip, i]));
    expect(byIp['127.0.0.3']!.providers.gmail!.state).toBe('suspended');
    expect(byIp['127.0.0.3']!.providers.other!.state).toBe('active');
    expect(byIp['127.0.0.4']!.providers.outlook!.state).toBe('suspended');
    expect(byIp['127.0.0.4']!.providers.gmail!.state).toBe('active');
    expect(byIp['127.0.0.2']!.providers.gmail!.state).toBe('active');
    expect(byIp['127.0.0.4']!.providers.outlook!.score.score).toBeLessThan(byIp['127.0.0.2']!.providers.outlook!.score.score);
    expect(byIp['127.0.0.3']!.providers.gmail!.score.score).toBeLessThan(byIp['127.0.0.2']!.providers.gmail!.score.score);
    expect(byIp['127.0.0.2']!.state).toBe('active');
  });
});

describe('pool binding', () => {
  it("keeps a dedicated tenant's mail on its own IPs while a shared tenant spreads over the shared pool", async () => {
    const dedicated = await rig.addTenant({
      pool: {
        id: `dedicated-${rig.engine.tenantId}`,
        name: 'dedicated pool',
        kind: 'dedicated',
        ips: ['127.0.0.5', '127.0.0.6'].map((ip, i) => ({
          id: `${rig.engine.tenantId}-d${i + 5}`,
          localAddress: ip,
          ehloName: `mta${i + 5}.dedicated.test`,
        })),
      },
    });
    const [mine, theirs] = await Promise.all([
      Promise.all(Array.from({ length: 10 }, (_, i) => rig.notify(dedicated, `d${i}@other.test`))),
      Promise.all(Array.from({ length: 12 }, (_, i) => rig.notify(shared, `s${i}@other.test`))),
    ]);
    await deliveredAll(mine, dedicated.apiKey);
    await deliveredAll(theirs, shared.apiKey);
    const from = (ids: string[]) =>
      new Set(
        arrivalsBy('other.test')
          .filter((m) => ids.includes(m.headers['x-notification-id']!))
          .map((m) => m.remoteAddress),
      );
    expect(from(mine)).toEqual(new Set(['127.0.0.5', '127.0.0.6']));
    expect(from(theirs)).toEqual(new Set(['127.0.0.2', '127.0.0.3', '127.0.0.4']));

    // The shared tenant can't be moved onto (or overflow to) a pool dedicated to someone else.
    const move = await rig.admin('PUT', `/v1/admin/tenants/${shared.tenantId}/pool`, {
      poolId: pool(rig.engine.tenantId),
      fallbackPoolId: `dedicated-${rig.engine.tenantId}`,
    });
    expect(move.status).toBe(409);
    expect(move.headers.get('content-type')).toContain('application/problem+json');
  });
});

describe('every MX', () => {
  it('goes to the next MX host when the preferred one is unreachable, to the address when there is no MX, and fails for good on a null MX', async () => {
    const zone = rig.dns.zone;
    // backup.test: the preferred MX (127.0.0.63) has nothing listening; the second is the "other" receiver.
    zone.mx!['backup.test'] = [
      { exchange: 'mx-b.backup.test', priority: 20 },
      { exchange: 'mx-a.backup.test', priority: 10 },
    ];
    zone.a!['mx-a.backup.test'] = ['127.0.0.63'];
    zone.a!['mx-b.backup.test'] = ['127.0.0.62'];
    // bare.test: no MX at all, its own address is the "other" receiver.
    zone.a!['bare.test'] = ['127.0.0.62'];
    zone.mx!['nomail.test'] = [{ exchange: '.', priority: 0 }];
    const other = rig.receivers['other.test']!;
    const before = other.messages.length;

    const [viaBackup, viaAddress, nullMx] = await Promise.all([
      rig.notify(shared, 'b1@backup.test'),
      rig.notify(shared, 'c1@bare.test'),
      rig.notify(shared, 'n1@nomail.test'),
    ]);
    await deliveredAll([viaBackup, viaAddress], shared.apiKey);
    const arrived = other.messages.slice(before).map((m) => m.headers['x-notification-id']);
    expect(arrived.sort()).toEqual([viaBackup, viaAddress].sort());

    const failed = await waitUntil(
      async () => {
        const v = (await (await rig.engine.request('GET', `/v1/notifications/${nullMx}`, { key: shared.apiKey })).json()) as {
          status: string;
          error: string | null;
          attempts: unknown[];
        };
        return v.status === 'failed' ? v : undefined;
      },
      30_000,
      'null MX notification failed',
    );
    expect(failed.error).toMatch(/null MX/);
    // Failed at once, without a retry: the workflow history shows one try of the send.
    const history = await rig.engine.client.workflow
      .getHandle(
        (await rig.engine.database.sql<{ workflow_id: string }[]>`select workflow_id from notifications where id = ${nullMx}`)[0]!.workflow_id,
      )
      .fetchHistory();
    const sendTries = history.events!.filter((e) => e.activityTaskStartedEventAttributes).map((e) => e.activityTaskStartedEventAttributes!.attempt);
    expect(sendTries.length, 'activity tasks started').toBeGreaterThan(0);
    expect(sendTries.every((n) => n === 1)).toBe(true);
  });
});
