import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pushDevices, users } from '../db/schema.js';
import type { SmtpReply } from '../dev/smtp-inbox.js';
import { bundleWorkflows, startTestEngine, type TestEngine } from './helpers/engine.js';
import { auditSteps, putUser, settled, trigger } from './helpers/notify.js';
import { waitUntil } from './helpers/wait.js';

/** Per-recipient SMTP behaviour: the receiver answers what the test tells it to, counted per address. */
const behaviour = new Map<string, (attempt: number) => SmtpReply>();
const rcptCounts = new Map<string, number>();

let engine: TestEngine;

beforeAll(async () => {
  engine = await startTestEngine({
    bundle: await bundleWorkflows(),
    inbox: {
      onRcpt: ({ rcpt }) => {
        const n = (rcptCounts.get(rcpt) ?? 0) + 1;
        rcptCounts.set(rcpt, n);
        return behaviour.get(rcpt)?.(n);
      },
    },
  });
});
afterAll(async () => engine?.stop());

const arrivedFor = (address: string) => engine.inbox.messages.filter((m) => m.rcptTo.includes(address));
const pushesFor = (token: string) => engine.fcm.received.filter((p) => p.token === token);

describe('channel choice and delivery', () => {
  it('pushes to a push user, in German, and the workflow carries its search attributes', async () => {
    await putUser(engine, 'bruno', { email: 'bruno@example.de', locale: 'de', pushTokens: ['tok-bruno'] }, { transactions: ['push'] });
    const id = await trigger(engine, 'bruno', 'bruno-1');
    const done = await settled(engine, id);
    expect(done.status).toBe('delivered');
    expect(done.deliveredChannels).toEqual(['push']);
    const [push] = pushesFor('tok-bruno');
    expect(push?.title).toMatch(/Zahlung/);
    expect(arrivedFor('bruno@example.de')).toHaveLength(0);

    // Operators find it in the Temporal UI by its search attributes.
    const query = `TenantId="${engine.tenantId}" AND UserId="bruno" AND DeliveryStatus="delivered" AND Channel="push" AND Category="transactions"`;
    const listed = await waitUntil(
      async () => {
        const ids: string[] = [];
        for await (const wf of engine.client.workflow.list({ query })) ids.push(wf.workflowId);
        return ids.includes(done.workflowId) ? ids : undefined;
      },
      20_000,
      'workflow to be visible by search attributes',
    );
    expect(listed).toContain(done.workflowId);
  });

  it('sends both channels to a user who chose both', async () => {
    await putUser(engine, 'chloe', { email: 'chloe@example.nl', locale: 'nl', pushTokens: ['tok-chloe'] }, { transactions: ['email', 'push'] });
    const id = await trigger(engine, 'chloe', 'chloe-1');
    const done = await settled(engine, id);
    expect(done.deliveredChannels.sort()).toEqual(['email', 'push']);
    expect(arrivedFor('chloe@example.nl')[0]?.subject).toMatch(/Betaling|betaling/);
    expect(pushesFor('tok-chloe')).toHaveLength(1);
  });

  it('falls back to e-mail when the only push token is unregistered, and removes the token', async () => {
    await putUser(engine, 'dora', { email: 'dora@example.fr', locale: 'fr', pushTokens: ['unregistered-dora'] }, { transactions: ['push'] });
    const id = await trigger(engine, 'dora', 'dora-1');
    const done = await settled(engine, id);
    expect(done.status).toBe('delivered');
    expect(done.deliveredChannels).toEqual(['email']);
    expect(done.attempts.map((a) => [a.channel, a.outcome])).toEqual([
      ['push', 'failed'],
      ['email', 'accepted'],
    ]);
    expect(arrivedFor('dora@example.fr')).toHaveLength(1);
    const [user] = await engine.database.db.select().from(users).where(eq(users.externalId, 'dora'));
    expect(await engine.database.db.select().from(pushDevices).where(eq(pushDevices.userId, user!.id))).toEqual([]);
    const steps = await auditSteps(engine, id);
    expect(steps).toEqual(expect.arrayContaining(['push.failed', 'push.device_removed', 'fallback', 'email.accepted', 'notification.delivered']));
    expect(steps.indexOf('fallback')).toBeGreaterThan(steps.indexOf('push.device_removed'));
  });
});

describe('SMTP retries and permanent failures', () => {
  it('retries a 451 with backoff and delivers once the server accepts', async () => {
    behaviour.set('erik@example.com', (n) => (n <= 2 ? { code: 451, message: '4.7.1 Try again later' } : undefined));
    await putUser(engine, 'erik', { email: 'erik@example.com', locale: 'en' }, { transactions: ['email'] });
    const id = await trigger(engine, 'erik', 'erik-1');
    const done = await settled(engine, id);
    expect(done.status).toBe('delivered');
    expect(done.attempts.map((a) => [a.attempt, a.outcome, a.responseCode])).toEqual([
      [1, 'deferred', 451],
      [2, 'deferred', 451],
      [3, 'accepted', 250],
    ]);
    expect(arrivedFor('erik@example.com')).toHaveLength(1);
    expect(rcptCounts.get('erik@example.com')).toBe(3);
  });

  it('makes exactly one attempt on a 550, records it, and falls back to push', async () => {
    behaviour.set('fred@example.com', () => ({ code: 550, message: '5.1.1 No such user here' }));
    await putUser(engine, 'fred', { email: 'fred@example.com', locale: 'en', pushTokens: ['tok-fred'] }, { transactions: ['email'] });
    const id = await trigger(engine, 'fred', 'fred-1');
    const done = await settled(engine, id);
    expect(done.status).toBe('delivered');
    expect(done.deliveredChannels).toEqual(['push']);
    expect(done.attempts.map((a) => [a.channel, a.outcome, a.responseCode])).toEqual([
      ['email', 'failed', 550],
      ['push', 'accepted', null],
    ]);
    expect(rcptCounts.get('fred@example.com')).toBe(1);
    expect(pushesFor('tok-fred')).toHaveLength(1);
    // The failure reason in the workflow history names the SMTP reply, never the address.
    const history = await engine.client.workflow.getHandle(done.workflowId).fetchHistory();
    expect(JSON.stringify(history)).not.toContain('fred@example.com');
  });

  it('fails with the reason recorded when every channel fails for good', async () => {
    behaviour.set('gina@example.com', () => ({ code: 550, message: '5.7.1 Rejected by policy' }));
    await putUser(engine, 'gina', { email: 'gina@example.com', locale: 'en' }, { transactions: ['email'] });
    const id = await trigger(engine, 'gina', 'gina-1');
    const done = await settled(engine, id);
    expect(done.status).toBe('failed');
    expect(done.error).toMatch(/550/);
    expect(await auditSteps(engine, id)).toEqual([
      'notification.accepted',
      'channels.decided',
      'email.rendered',
      'email.failed',
      'notification.failed',
    ]);
  });
});

describe('idempotency', () => {
  it('gives one workflow and one message for the same key posted twice', async () => {
    await putUser(engine, 'hugo', { email: 'hugo@example.com', locale: 'en' }, { transactions: ['email'] });
    const first = await trigger(engine, 'hugo', 'hugo-same');
    const again = await engine.request('POST', '/v1/notifications', {
      headers: { 'idempotency-key': 'hugo-same' },
      body: { userId: 'hugo', type: 'account.transaction', data: { amount: 12.3, currency: 'EUR', merchant: 'Café Central', accountLast4: '9876' } },
    });
    expect(again.status).toBe(202);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(((await again.json()) as { id: string }).id).toBe(first);
    // The same request with its keys in another order is the same request.
    const reordered = await engine.request('POST', '/v1/notifications', {
      headers: { 'idempotency-key': 'hugo-same' },
      body: { data: { accountLast4: '9876', merchant: 'Café Central', currency: 'EUR', amount: 12.3 }, type: 'account.transaction', userId: 'hugo' },
    });
    expect(reordered.status).toBe(202);
    expect(((await reordered.json()) as { id: string }).id).toBe(first);
    await settled(engine, first);
    await new Promise((r) => setTimeout(r, 1000));
    expect(arrivedFor('hugo@example.com')).toHaveLength(1);
  });

  it('gives one workflow and one message for ten concurrent posts of one key', async () => {
    await putUser(engine, 'ines', { email: 'ines@example.com', locale: 'en' }, { transactions: ['email'] });
    const body = { userId: 'ines', type: 'account.transaction', data: { amount: 1, currency: 'EUR', merchant: 'M', accountLast4: '0001' } };
    const responses = await Promise.all(
      Array.from({ length: 10 }, () => engine.request('POST', '/v1/notifications', { headers: { 'idempotency-key': 'ines-burst' }, body })),
    );
    expect(responses.map((r) => r.status)).toEqual(Array(10).fill(202));
    const ids = new Set(await Promise.all(responses.map(async (r) => ((await r.json()) as { id: string }).id)));
    expect(ids.size).toBe(1);
    const [id] = [...ids];
    await settled(engine, id!);
    await new Promise((r) => setTimeout(r, 1000));
    expect(arrivedFor('ines@example.com')).toHaveLength(1);
    const runs = await waitUntil(
      async () => {
        const found: string[] = [];
        for await (const wf of engine.client.workflow.list({ query: `TenantId="${engine.tenantId}" AND UserId="ines"` })) found.push(wf.runId);
        return found.length > 0 ? found : undefined;
      },
      20_000,
      'the workflow to be visible',
    );
    expect(runs).toHaveLength(1);
  });
});
