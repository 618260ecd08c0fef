import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signatureHeader, signWebhook, verifyWebhookSignature } from '../domain/webhooks/sign.js';
import { createSecretBox } from '../config/secrets.js';
import { feedbackEvents, feedbackRejects, suppressions } from '../db/schema.js';
import { lateOutcomeWebhook } from '../workflows/late-outcome.js';
import { startInboundListener, type InboundListener } from '../inbound/server.js';
import { bundleWorkflows, startTestEngine, type TestEngine } from './helpers/engine.js';
import { arfReport, dsnReport, headersOf, mailReport, qmailBounce } from './helpers/feedback-mail.js';
import { startHttpReceiver } from './helpers/http-receiver.js';
import { auditSteps, putUser, settled, trigger } from './helpers/notify.js';
import { waitUntil } from './helpers/wait.js';

const adminKey = 'nf_admin_feedback_test';
const providerSecret = 'provider-fbl-secret';
let engine: TestEngine;
let listener: InboundListener;
let tenantHook: Awaited<ReturnType<typeof startHttpReceiver>>;
let tenantSecret: string;

beforeAll(async () => {
  // An IP of its own: the complaints below lower its reputation, which other files must not inherit.
  engine = await startTestEngine({
    bundle: await bundleWorkflows(),
    ips: ['127.0.0.21'],
    api: { adminKey, feedbackWebhookSecret: providerSecret },
    // A Postfix-like receiver that knows some mailboxes are gone and says so at RCPT.
    inbox: { onRcpt: ({ rcpt }) => rcptRefusals.find(([prefix]) => rcpt.startsWith(prefix))?.[1] },
  });
  const secrets = createSecretBox(Buffer.from(engine.secretKey, 'base64'));
  // Complaints are believed from this machine (the configured feedback-loop address).
  listener = await startInboundListener({
    db: engine.database.db,
    secrets,
    onOutcome: lateOutcomeWebhook(engine.client, engine.taskQueue),
    loops: { domains: [], ips: ['127.0.0.1'] },
  });
  tenantHook = await startHttpReceiver();
  const res = await engine.request('PUT', '/v1/webhook', { body: { url: `${tenantHook.url}/notiflow` } });
  expect(res.status).toBe(200);
  tenantSecret = ((await res.json()) as { secret: string }).secret;
});
afterAll(async () => {
  await listener?.close();
  await tenantHook?.close();
  await engine?.stop();
});

const rcptRefusals: [string, { code: number; message: string }][] = [
  ['gone-', { code: 550, message: '5.1.1 <gone@example.fr>: Recipient address rejected: User unknown in virtual mailbox table' }],
  ['nodomain-', { code: 550, message: '5.1.10 Recipient address rejected: domain has no mail server' }],
  ['off-', { code: 550, message: '5.2.1 The email account that you tried to reach is disabled' }],
  ['policy-', { code: 550, message: '5.7.1 Message rejected by local policy' }],
];

/** Workflow ids the Temporal visibility store lists for this DeliveryStatus in the tenant. */
const listedAs = async (status: string) => {
  const ids: string[] = [];
  for await (const w of engine.client.workflow.list({ query: `DeliveryStatus = "${status}" AND TenantId = "${engine.tenantId}"` }))
    ids.push(w.workflowId);
  return ids;
};

const db = () => engine.database.db;
const mailFor = (address: string) => engine.inbox.messages.filter((m) => m.rcptTo.includes(address));
const suppressionOf = async (email: string) =>
  (
    await db()
      .select()
      .from(suppressions)
      .where(and(eq(suppressions.tenantId, engine.tenantId), eq(suppressions.email, email)))
  )[0];
const webhookFor = (notificationId: string, outcome: string) =>
  waitUntil(
    async () => tenantHook.requests.find((r) => r.body.includes(notificationId) && r.body.includes(`"outcome":"${outcome}"`)),
    30_000,
    `${outcome} webhook`,
  );

/** Sends one transaction alert by e-mail and returns its id and the message as the MX received it. */
async function deliverOne(user: string, key: string) {
  const id = await trigger(engine, user, key);
  const done = await settled(engine, id);
  expect(done.deliveredChannels).toEqual(['email']);
  const mail = engine.inbox.messages.find((m) => m.headers['x-notification-id'] === id)!;
  return { id, mail };
}

// First, while the tenant's IP still has a clean record (the complaints below rightly lower it).
describe('malformed reports', () => {
  it('are kept for inspection with the reason and change nothing else', async () => {
    await putUser(engine, 'erin', { email: 'erin@example.fr' }, { transactions: ['email'] });
    const { mail } = await deliverOne('erin', 'erin-1');
    const countOf = async () => ({
      events: (await db().select().from(feedbackEvents).where(eq(feedbackEvents.tenantId, engine.tenantId))).length,
      suppressed: (await db().select().from(suppressions).where(eq(suppressions.tenantId, engine.tenantId))).length,
    });
    const before = await countOf();
    const rejectsBefore = (await db().select().from(feedbackRejects)).length;

    const dsn = dsnReport({
      to: mail.mailFrom,
      recipient: 'erin@example.fr',
      status: '5.1.1',
      diagnostic: '550 5.1.1 User unknown',
      originalHeaders: headersOf(mail.raw),
    });
    const forgedTo = mail.mailFrom.replace(/\.[0-9a-f]{16}@/, '.0000000000000000@');
    const cases: [string, string, RegExp][] = [
      [dsn.slice(0, dsn.indexOf('Action:')), mail.mailFrom, /truncated MIME/],
      [dsn.replace('report-type=delivery-status', 'report-type=x-unknown-report'), mail.mailFrom, /unknown report type: x-unknown-report/],
      [
        arfReport({
          to: 'fbl@x.test',
          sourceIp: '127.0.0.21',
          originalHeaders: headersOf(mail.raw).replace(
            /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g,
            '00000000-0000-4000-8000-000000000000',
          ),
        }),
        'fbl@x.test',
        /unknown notification 00000000-0000-4000-8000-000000000000/,
      ],
      [dsn, forgedTo, /forged return path/],
    ];
    for (const [raw, to] of cases) expect(await mailReport(listener, raw, { to })).toMatch(/^250/);

    const rejects = (await db().select().from(feedbackRejects)).slice(rejectsBefore);
    expect(rejects.map((r) => r.reason)).toEqual(cases.map(([, , reason]) => expect.stringMatching(reason)));
    expect(rejects.every((r) => r.raw.length > 0 && r.source === 'smtp' && r.remoteAddress === '127.0.0.1')).toBe(true);
    expect(await countOf()).toEqual(before);
    expect(await suppressionOf('erin@example.fr')).toBeUndefined();
  });
});

describe('bounces over SMTP', () => {
  it('a hard-bounce DSN to the signed return path suppresses the address; the next alert goes by push', async () => {
    await putUser(engine, 'bob', { email: 'bob@example.fr', pushTokens: ['tok-bob'] }, { transactions: ['email'] });
    const { id, mail } = await deliverOne('bob', 'bob-1');
    // The envelope sender is the VERP return path of this attempt, on the tenant's domain.
    expect(mail.mailFrom).toMatch(new RegExp(`^bounces\\+[0-9a-f]{32}\\.[0-9a-f]{16}@nfbounce\\.${engine.tenantId}\\.bank\\.test$`));
    const delivered = await webhookFor(id, 'delivered');
    expect(verifyWebhookSignature(tenantSecret, delivered.headers[signatureHeader.toLowerCase()] as string, delivered.body)).toBe(true);

    const dsn = dsnReport({
      to: mail.mailFrom,
      recipient: 'bob@example.fr',
      status: '5.1.1',
      diagnostic: '550 5.1.1 <bob@example.fr>: Recipient address rejected: User unknown',
      originalHeaders: headersOf(mail.raw),
    });
    expect(await mailReport(listener, dsn, { to: mail.mailFrom })).toMatch(/^250/);

    expect(await suppressionOf('bob@example.fr')).toMatchObject({ reason: 'hard_bounce', source: 'dsn', notificationId: id });
    const [event] = await db().select().from(feedbackEvents).where(eq(feedbackEvents.notificationId, id));
    expect(event).toMatchObject({ kind: 'bounce', bounceType: 'hard', class: 'unknown_user', status: '5.1.1', sourceIp: '127.0.0.21' });
    expect(event!.diagnostic).not.toContain('bob@example.fr');
    expect(await auditSteps(engine, id)).toContain('email.bounced.hard');
    await webhookFor(id, 'bounced');
    // What the notification shows now: bounced, with the event; Temporal lists it as bounced.
    const shown = (await (await engine.request('GET', `/v1/notifications/${id}`)).json()) as { status: string; feedback: unknown[] };
    expect(shown.status).toBe('bounced');
    expect(shown.feedback).toEqual([
      expect.objectContaining({ kind: 'bounce', bounceType: 'hard', class: 'unknown_user', status: '5.1.1', source: 'dsn' }),
    ]);
    await waitUntil(async () => ((await listedAs('bounced')).some((w) => w.includes(id)) ? true : undefined), 20_000, 'listed as bounced');

    // The next alert sends no e-mail: the workflow records "suppressed" and falls back to push.
    const before = mailFor('bob@example.fr').length;
    const next = await trigger(engine, 'bob', 'bob-2');
    const done = await settled(engine, next);
    expect(done.status).toBe('delivered');
    expect(done.deliveredChannels).toEqual(['push']);
    expect(engine.fcm.received.filter((p) => p.token === 'tok-bob')).toHaveLength(1);
    expect(mailFor('bob@example.fr')).toHaveLength(before);
    expect(done.attempts.filter((a) => a.channel === 'email')).toHaveLength(0);
    expect(await auditSteps(engine, next)).toEqual(
      expect.arrayContaining(['email.suppressed', 'fallback', 'push.accepted', 'notification.delivered']),
    );
    const history = await engine.client.workflow.getHandle(done.workflowId).result();
    expect(history.results[0]).toMatchObject({ channel: 'email', outcome: 'suppressed', error: { type: 'Suppressed' } });
  });

  it('a qmail-style bounce from the null sender is understood too', async () => {
    await putUser(engine, 'quinn', { email: 'quinn@example.org' }, { transactions: ['email'] });
    const { mail } = await deliverOne('quinn', 'quinn-1');
    await mailReport(listener, qmailBounce({ to: mail.mailFrom, recipient: 'quinn@example.org', originalHeaders: headersOf(mail.raw) }), {
      to: mail.mailFrom,
    });
    expect(await suppressionOf('quinn@example.org')).toMatchObject({ reason: 'hard_bounce' });
  });

  it('a soft bounce (mailbox full) is recorded but suppresses nothing', async () => {
    await putUser(engine, 'sam', { email: 'sam@example.org' }, { transactions: ['email'] });
    const { id, mail } = await deliverOne('sam', 'sam-1');
    await mailReport(
      listener,
      dsnReport({
        to: mail.mailFrom,
        recipient: 'sam@example.org',
        action: 'delayed',
        status: '4.2.2',
        diagnostic: '452 4.2.2 Mailbox full',
        originalHeaders: headersOf(mail.raw),
      }),
      { to: mail.mailFrom },
    );
    const [event] = await db().select().from(feedbackEvents).where(eq(feedbackEvents.notificationId, id));
    expect(event).toMatchObject({ kind: 'bounce', bounceType: 'soft', class: 'mailbox_full' });
    expect(await suppressionOf('sam@example.org')).toBeUndefined();
  });
});

describe('bounces at RCPT', () => {
  it('a 550 5.1.1, 5.1.10 or 5.2.1 from the receiving server suppresses the address as its DSN would; a policy 550 does not', async () => {
    const cases = [
      { user: 'gina', email: 'gone-gina@example.fr', cls: 'unknown_user', status: '5.1.1' },
      { user: 'hugo', email: 'nodomain-hugo@example.fr', cls: 'bad_domain', status: '5.1.10' },
      { user: 'ines', email: 'off-ines@example.fr', cls: 'mailbox_disabled', status: '5.2.1' },
    ];
    for (const c of cases) {
      await putUser(engine, c.user, { email: c.email, pushTokens: [`tok-${c.user}`] }, { transactions: ['email'] });
      const id = await trigger(engine, c.user, `${c.user}-1`);
      const done = await settled(engine, id);
      // The alert still reached the user, by push; the refused address is now suppressed.
      expect(done.deliveredChannels).toEqual(['push']);
      expect(await suppressionOf(c.email)).toMatchObject({ reason: 'hard_bounce', source: 'smtp', notificationId: id });
      const [event] = await db().select().from(feedbackEvents).where(eq(feedbackEvents.notificationId, id));
      expect(event).toMatchObject({ kind: 'bounce', bounceType: 'hard', class: c.cls, status: c.status, source: 'smtp', sourceIp: '127.0.0.21' });
      expect(event!.diagnostic).not.toContain('@example.fr');
      expect(await auditSteps(engine, id)).toContain('email.bounced.hard');

      // The next alert does not try the address again.
      const next = await trigger(engine, c.user, `${c.user}-2`);
      expect((await settled(engine, next)).attempts.filter((a) => a.channel === 'email')).toHaveLength(0);
      expect(await auditSteps(engine, next)).toContain('email.suppressed');
    }
    await putUser(engine, 'jules', { email: 'policy-jules@example.fr', pushTokens: ['tok-jules'] }, { transactions: ['email'] });
    await settled(engine, await trigger(engine, 'jules', 'jules-1'));
    expect(await suppressionOf('policy-jules@example.fr')).toBeUndefined();
  });
});

describe('complaints', () => {
  it('an ARF report over SMTP suppresses the address and counts against the IP and provider', async () => {
    await putUser(engine, 'carol', { email: 'carol@example.fr', pushTokens: ['tok-carol'] }, { transactions: ['email'] });
    const { id, mail } = await deliverOne('carol', 'carol-1');
    const arf = arfReport({ to: `fbl@${engine.tenantId}.bank.test`, sourceIp: '127.0.0.21', originalHeaders: headersOf(mail.raw) });
    expect(await mailReport(listener, arf, { from: 'fbl@isp.remote.test', to: `fbl@${engine.tenantId}.bank.test` })).toMatch(/^250/);

    expect(await suppressionOf('carol@example.fr')).toMatchObject({ reason: 'complaint', source: 'arf', notificationId: id });
    const [event] = await db().select().from(feedbackEvents).where(eq(feedbackEvents.notificationId, id));
    expect(event).toMatchObject({ kind: 'complaint', class: 'abuse', sourceIp: '127.0.0.21', tenantId: engine.tenantId });
    expect(event!.provider).toBeTruthy();
    expect(await auditSteps(engine, id)).toContain('email.complained');
    await webhookFor(id, 'complained');
    const shown = (await (await engine.request('GET', `/v1/notifications/${id}`)).json()) as { status: string; feedback: unknown[] };
    expect(shown.status).toBe('complained');
    expect(shown.feedback).toEqual([expect.objectContaining({ kind: 'complaint', class: 'abuse', source: 'arf' })]);
    await waitUntil(async () => ((await listedAs('complained')).some((w) => w.includes(id)) ? true : undefined), 20_000, 'listed as complained');

    // The IP's reputation for that provider shows the complaint (issue 3's operator view).
    const ip = (await (await engine.request('GET', `/v1/admin/ips/${engine.tenantId}-ip1`, { key: adminKey })).json()) as {
      providers: Record<string, { score: { score: number; bad: number } }>;
    };
    expect(ip.providers[event!.provider!]?.score.bad).toBeGreaterThan(0);
    expect(ip.providers[event!.provider!]?.score.score).toBeLessThan(100);

    // A repeated report (the feedback loop resending) counts once.
    await mailReport(listener, arf, { from: 'fbl@isp.remote.test', to: `fbl@${engine.tenantId}.bank.test` });
    expect(await db().select().from(feedbackEvents).where(eq(feedbackEvents.notificationId, id))).toHaveLength(1);

    const next = await trigger(engine, 'carol', 'carol-2');
    const done = await settled(engine, next);
    expect(done.deliveredChannels).toEqual(['push']);
    expect(mailFor('carol@example.fr')).toHaveLength(1);
  });

  it('a provider posting JSON must sign it; a signed complaint is recorded like a mailed one', async () => {
    await putUser(engine, 'dora', { email: 'dora@example.fr' }, { transactions: ['email'] });
    const { id } = await deliverOne('dora', 'dora-1');
    const body = JSON.stringify({ type: 'complaint', notificationId: id, feedbackType: 'abuse', recipient: 'dora@example.fr' });
    const unsigned = await engine.request('POST', '/v1/feedback/reports', { rawBody: body, key: null });
    expect(unsigned.status).toBe(401);
    expect(unsigned.headers.get('content-type')).toContain('application/problem+json');
    expect(await suppressionOf('dora@example.fr')).toBeUndefined();

    const signed = await engine.request('POST', '/v1/feedback/reports', {
      rawBody: body,
      key: null,
      headers: { [signatureHeader]: signWebhook(providerSecret, body) },
    });
    expect(signed.status).toBe(202);
    expect(await signed.json()).toMatchObject({ status: 'recorded', kind: 'complaint' });
    expect(await suppressionOf('dora@example.fr')).toMatchObject({ reason: 'complaint', source: 'provider-webhook' });
  });
});

describe('suppression list API', () => {
  it('operators list, add and remove entries, scoped to their tenant', async () => {
    const added = await engine.request('POST', '/v1/suppressions', {
      body: { email: 'Frank@Example.fr', reason: 'manual', detail: 'asked by phone' },
    });
    expect(added.status).toBe(201);
    expect(await added.json()).toMatchObject({ email: 'frank@example.fr', reason: 'manual', source: 'api' });
    expect((await engine.request('POST', '/v1/suppressions', { body: { email: 'frank@example.fr' } })).status).toBe(200);
    const bad = await engine.request('POST', '/v1/suppressions', { body: { email: 'not-an-address' } });
    expect(bad.status).toBe(422);

    const list = (await (await engine.request('GET', '/v1/suppressions?limit=1000')).json()) as { suppressions: { email: string; reason: string }[] };
    expect(list.suppressions).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ email: 'bob@example.fr', reason: 'hard_bounce' }),
        expect.objectContaining({ email: 'frank@example.fr' }),
      ]),
    );

    const other = await engine.addTenant();
    const theirs = (await (await engine.request('GET', '/v1/suppressions', { key: other.apiKey })).json()) as { suppressions: unknown[] };
    expect(theirs.suppressions).toEqual([]);
    expect((await engine.request('DELETE', '/v1/suppressions/frank@example.fr', { key: other.apiKey })).status).toBe(404);

    expect((await engine.request('DELETE', '/v1/suppressions/frank@example.fr')).status).toBe(204);
    expect((await engine.request('GET', '/v1/suppressions/frank@example.fr')).status).toBe(404);

    // Bounce-made entries can be removed the same way (e.g. after the user fixed the mailbox).
    expect((await engine.request('DELETE', '/v1/suppressions/bob@example.fr')).status).toBe(204);
    expect(await suppressionOf('bob@example.fr')).toBeUndefined();
  });
});
