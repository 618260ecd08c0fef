// Selection, recovery and warm-up through the real routing code: Postgres for state, a real DNS
// server for MX, real SMTP to a receiver on loopback; only the clock is injected, so a day of
// warm-up or an hour of suspension passes without sleeping.
import { randomUUID } from 'node:crypto';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { createMailer, type Mailer } from '../domain/email/mailer.js';
import { createDeliveryDeps } from '../domain/pool/delivery-deps.js';
import { createDnsResolver } from '../domain/pool/mx-lookup.js';
import { Refusal } from '../domain/failures/refusal.js';
import { chooseRoute, finishRoute, type DeliveryDeps } from '../domain/pool/route.js';
import { providerRules } from '../domain/pool/rules.js';
import { reserveSlot } from '../domain/pool/slots.js';
import { loadIpStatus, providerView } from '../domain/pool/ip-status.js';
import { connectDatabase, type Database } from '../db/client.js';
import { upsertPool } from '../db/provision.js';
import { ipControls, sendingIps, ipWarmups } from '../db/schema.js';
import { startDnsServer, type DnsServer } from '../dev/dns-server.js';
import { startSmtpInbox, type SmtpInbox } from '../dev/smtp-inbox.js';
import { freePort } from '../dev/ports.js';

const rules = providerRules({
  version: 1,
  defaults: { connectionsPerIp: 4, messagesPerConnection: 100, messageRate: '10000/s' },
  reputation: { halfLifeMinutes: 360, windowHours: 48, priorGood: 5, norm: 60, quarantineBelow: 20, minEvents: 5 },
  warmup: { dailyCaps: [3, 6] },
  providers: [
    {
      name: 'gmail',
      match: { mxSuffix: ['.google.com'] },
      responses: [
        { id: 'gmail-4.7.28', regex: '4\\.7\\.28', trigger: 'immediate', action: 'suspend', duration: '10m' },
        { id: 'gmail-busy', regex: 'try again later', trigger: { perHour: 2 }, action: 'throttle', throttleRate: '1/minute', duration: '30m' },
      ],
    },
  ],
});

let database: Database;
let dns: DnsServer;
let inbox: SmtpInbox;
let mailer: Mailer;
let delivery: DeliveryDeps;
let clock = Date.now();
let random = mulberry32(7);
/** "<source IP> <recipient domain>" -> the reply the receiver gives at RCPT, while set. */
const replies = new Map<string, { code: number; message: string }>();
const tag = randomUUID().slice(0, 6);

beforeAll(async () => {
  database = connectDatabase(inject('databaseUrl'));
  dns = await startDnsServer({
    zone: {
      mx: { 'gmail.test': [{ exchange: 'gmail-smtp-in.l.google.com', priority: 5 }], 'other.test': [{ exchange: 'mx.other.test', priority: 5 }] },
      a: { 'gmail-smtp-in.l.google.com': ['127.0.0.70'], 'mx.other.test': ['127.0.0.70'] },
    },
  });
  inbox = await startSmtpInbox({
    host: '127.0.0.70',
    port: await freePort(),
    onRcpt: ({ remoteAddress, rcpt }) => replies.get(`${remoteAddress} ${rcpt.split('@')[1]}`),
  });
  mailer = createMailer();
  delivery = createDeliveryDeps({
    rules,
    resolver: createDnsResolver([dns.address]),
    mxPort: inbox.port,
    mxAllowPrivate: ['127.0.0.0/8'],
    now: () => clock,
    random: () => random(),
  });
});
afterAll(async () => {
  await mailer?.close();
  await Promise.allSettled([inbox?.close(), dns?.close()]);
  await database?.close();
});

async function pool(name: string, ips: { ip: string; weight?: number }[]) {
  const id = `${tag}-${name}`;
  await upsertPool(database.db, {
    id,
    name,
    kind: 'shared',
    relayHost: null,
    relayPort: null,
    ips: ips.map((s) => ({ id: `${id}-${s.ip}`, localAddress: s.ip, ehloName: `mta.${name}.test`, weight: s.weight })),
  });
  return id;
}

/** One message the way the send activity does it: choose, send over SMTP, record the answer. */
async function send(poolId: string, domain: string) {
  const route = await chooseRoute(database.db, delivery, { tenantId: `t-${tag}`, poolId, recipientDomain: domain });
  const outcome = await mailer.send(route.smtp, { from: 'alerts@bank.test', to: `u@${domain}`, subject: 's', text: 't', html: '<p>t</p>' });
  const verdict = await finishRoute(database.db, delivery, route, { tenantId: `t-${tag}`, notificationId: randomUUID() }, outcome);
  return { route, outcome, verdict };
}

async function refusal(poolId: string, domain: string): Promise<Refusal> {
  try {
    await chooseRoute(database.db, delivery, { tenantId: `t-${tag}`, poolId, recipientDomain: domain });
  } catch (err) {
    if (err instanceof Refusal) return err;
    throw err;
  }
  throw new Error('a source was chosen');
}

async function standing(poolId: string, ip: string, provider: string) {
  const rows = await database.db.select().from(sendingIps);
  const [s] = await loadIpStatus(
    database.db,
    rules,
    rows.filter((r) => r.poolId === poolId && r.localAddress === ip),
    clock,
  );
  return providerView(s!, provider, rules, clock);
}

describe('a suspended IP', () => {
  it('waits out its suspension (the retry delay says how long), then comes back and recovers its score with good outcomes', async () => {
    const p = await pool('recover', [{ ip: '127.0.0.11' }]);
    replies.set('127.0.0.11 gmail.test', { code: 421, message: '4.7.28 Our system has detected an unusual rate of unsolicited mail' });
    const first = await send(p, 'gmail.test');
    expect(first.outcome.ok).toBe(false);
    expect(first.verdict).toEqual({ retryElsewhere: true, firedRules: ['gmail-4.7.28'] });
    expect((await standing(p, '127.0.0.11', 'gmail')).state).toBe('suspended');

    // No address may send: a retryable failure whose delay is the rest of the suspension.
    const wait = await refusal(p, 'gmail.test');
    expect(wait.type).toBe('NoIpAvailable');
    expect(wait.stop.kind).toBe('retry');
    expect(wait.retryAfterMs).toBeGreaterThan(9 * 60_000);
    expect(wait.retryAfterMs).toBeLessThanOrEqual(10 * 60_000);
    // The same IP still sends to other providers.
    expect((await send(p, 'other.test')).outcome.ok).toBe(true);

    clock += 10 * 60_000 + 1;
    replies.delete('127.0.0.11 gmail.test');
    const back = await send(p, 'gmail.test');
    expect(back.outcome.ok).toBe(true);
    expect(back.route.sourceIp).toBe('127.0.0.11');
    const after = await standing(p, '127.0.0.11', 'gmail');
    expect(after.state).toBe('throttled'); // below the norm: a reduced share until outcomes improve
    for (let i = 0; i < 20; i++) expect((await send(p, 'gmail.test')).outcome.ok).toBe(true);
    const recovered = await standing(p, '127.0.0.11', 'gmail');
    expect(recovered.state).toBe('active');
    expect(recovered.score.score).toBeGreaterThan(after.score.score);
  });
});

describe('a warming IP', () => {
  it('never exceeds its day’s cap, and gets the next day’s cap a day later', async () => {
    const p = await pool('warm', [{ ip: '127.0.0.12' }]);
    const [src] = await database.db.select().from(sendingIps).where(eq(sendingIps.poolId, p));
    await database.db.insert(ipWarmups).values({ ipId: src!.id, startedAt: new Date(clock) });
    const day0 = inbox.messages.filter((m) => m.remoteAddress === '127.0.0.12').length;
    for (let i = 0; i < 3; i++) expect((await send(p, 'other.test')).outcome.ok).toBe(true);
    const capped = await refusal(p, 'other.test');
    expect(capped.type).toBe('NoIpAvailable');
    expect(capped.retryAfterMs).toBeGreaterThan(23 * 3_600_000);
    expect(inbox.messages.filter((m) => m.remoteAddress === '127.0.0.12').length - day0).toBe(3);
    expect((await standing(p, '127.0.0.12', 'other')).state).toBe('warming');

    clock += 24 * 3_600_000;
    for (let i = 0; i < 6; i++) expect((await send(p, 'other.test')).outcome.ok).toBe(true);
    expect((await refusal(p, 'other.test')).type).toBe('NoIpAvailable');
    expect(inbox.messages.filter((m) => m.remoteAddress === '127.0.0.12').length - day0).toBe(9);

    clock += 24 * 3_600_000; // past the ramp: full share, no cap
    for (let i = 0; i < 8; i++) expect((await send(p, 'other.test')).outcome.ok).toBe(true);
    expect((await standing(p, '127.0.0.12', 'other')).state).toBe('active');
  });
});

describe('a shared pool', () => {
  it('spreads by weight, and an IP whose score drops below the norm loses most of its share', async () => {
    const p = await pool('spread', [
      { ip: '127.0.0.13', weight: 300 },
      { ip: '127.0.0.14', weight: 100 },
    ]);
    random = mulberry32(42);
    const share = async (n: number) => {
      let heavy = 0;
      for (let i = 0; i < n; i++) if ((await send(p, 'other.test')).route.sourceIp === '127.0.0.13') heavy++;
      return heavy / n;
    };
    const before = await share(80);
    expect(before).toBeGreaterThan(0.6);
    expect(before).toBeLessThan(0.9);

    // The receiver now refuses .13's mail as spam: permanent bounces charged to the IP.
    replies.set('127.0.0.13 other.test', { code: 550, message: '5.7.1 Message rejected as spam by content filter' });
    let bounces = 0;
    while (bounces < 12) if (!(await send(p, 'other.test')).outcome.ok) bounces++;
    replies.delete('127.0.0.13 other.test');
    const low = await standing(p, '127.0.0.13', 'other');
    expect(low.state).toBe('throttled');
    const afterDrop = await share(80);
    expect(afterDrop).toBeLessThan(0.4);
  });
});

describe('response rules and bounce classes', () => {
  it('fire an N-per-hour rule only at its Nth hit, then hold the IP to the throttled rate for that provider', async () => {
    const p = await pool('threshold', [{ ip: '127.0.0.16' }]);
    replies.set('127.0.0.16 gmail.test', { code: 421, message: '4.3.0 Server busy, try again later' });
    expect((await send(p, 'gmail.test')).verdict.firedRules).toEqual([]);
    expect((await standing(p, '127.0.0.16', 'gmail')).throttle).toBeUndefined();
    expect((await send(p, 'gmail.test')).verdict.firedRules).toEqual(['gmail-busy']);
    replies.delete('127.0.0.16 gmail.test');
    const throttled = await standing(p, '127.0.0.16', 'gmail');
    expect(throttled.state).toBe('throttled');
    expect(throttled.throttle).toEqual({ count: 1, perMs: 60_000 });
    expect((await refusal(p, 'gmail.test')).retryAfterMs).toBeGreaterThan(59_000); // the last reply is still in the window
    clock += 61_000;
    expect((await send(p, 'gmail.test')).outcome.ok).toBe(true);
    const wait = await refusal(p, 'gmail.test');
    expect(wait.retryAfterMs).toBeGreaterThan(59_000);
    expect((await send(p, 'other.test')).outcome.ok).toBe(true); // other providers at full rate
  });

  it("charge unknown-user bounces to the tenant's list hygiene, not to the IP", async () => {
    const p = await pool('hygiene', [{ ip: '127.0.0.17' }]);
    replies.set('127.0.0.17 other.test', { code: 550, message: '5.1.1 <u@other.test>: Recipient address rejected: User unknown' });
    for (let i = 0; i < 10; i++) expect((await send(p, 'other.test')).outcome.ok).toBe(false);
    replies.delete('127.0.0.17 other.test');
    const ip = await standing(p, '127.0.0.17', 'other');
    expect(ip.score.score).toBe(100);
    expect(ip.state).toBe('active');
    const rows = await database.sql<{ kind: string; charge: string; n: number }[]>`
      select kind, charge, count(*)::int as n from reputation_events where egress_id = ${`${p}-127.0.0.17`} group by 1, 2`;
    expect(rows).toEqual([{ kind: 'bounce:unknown_user', charge: 'tenant', n: 10 }]);
  });
});

describe('send slots', () => {
  it('are refused on a source suspended after its status was read, until the suspension ends', async () => {
    const p = await pool('slots', [{ ip: '127.0.0.19' }]);
    const ipId = `${p}-127.0.0.19`;
    const ask = () =>
      reserveSlot(database.db, { ipId, provider: 'gmail', now: clock, connections: 4, rate: { count: 10_000, perMs: 1000 }, warmup: null });
    expect((await ask()).ok).toBe(true);
    // A provider rule suspends the source between another send's status read and its slot request.
    const until = new Date(clock + 600_000);
    await database.db.insert(ipControls).values({ ipId, provider: 'gmail', kind: 'suspend', until, reason: 'test', setBy: 'gmail-4.7.28' });
    expect(await ask()).toEqual({ ok: false, retryAt: until.getTime(), reason: 'suspended' });
    const before = await database.sql<{ n: number }[]>`select count(*)::int as n from send_reservations where egress_id = ${ipId}`;
    expect(before[0]!.n).toBe(1);
    clock = until.getTime() + 1;
    expect((await ask()).ok).toBe(true);
  });
});

/** Small seeded PRNG so the weighted picks are reproducible. */
function mulberry32(seed: number) {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
