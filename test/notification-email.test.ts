import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundleWorkflows, startTestEngine, type TestEngine } from './helpers/engine.js';
import { waitUntil } from './helpers/wait.js';

let engine: TestEngine;

beforeAll(async () => {
  engine = await startTestEngine({ bundle: await bundleWorkflows() });
});
afterAll(async () => engine?.stop());

async function notification(id: string) {
  const res = await engine.request('GET', `/v1/notifications/${id}`);
  return (await res.json()) as {
    status: string;
    attempts: { outcome: string; sourceIp: string; responseCode: number }[];
    deliveredChannels: string[];
  };
}

describe('an e-mail user', () => {
  it('gets a DKIM-signed alert in French, and the audit trail shows every step', async () => {
    const put = await engine.request('PUT', '/v1/users/alice', { body: { email: 'alice@example.fr', locale: 'fr', timezone: 'Europe/Paris' } });
    expect(put.status).toBe(201);
    const prefs = await engine.request('PUT', '/v1/users/alice/preferences', { body: { categories: { transactions: ['email'] } } });
    expect(prefs.status).toBe(200);

    const res = await engine.request('POST', '/v1/notifications', {
      headers: { 'idempotency-key': 'tx-1' },
      body: {
        userId: 'alice',
        type: 'account.transaction',
        data: { amount: 42.5, currency: 'EUR', merchant: 'Boulangerie <Paul>', accountLast4: '1234' },
      },
    });
    expect(res.status).toBe(202);
    const { id } = (await res.json()) as { id: string };

    const [mail] = await engine.inbox.waitFor(1, 30_000);
    expect(mail!.rcptTo).toEqual(['alice@example.fr']);
    expect(mail!.dkim.result).toBe('pass');
    expect(mail!.dkim.domain).toBe(`${engine.tenantId}.bank.test`);
    expect(mail!.remoteAddress).toBe(engine.ips[0]);
    expect(mail!.html).toContain('Boulangerie &lt;Paul&gt;');
    expect(mail!.text).toMatch(/42,50\s€/);

    const done = await waitUntil(async () => {
      const n = await notification(id);
      return n.status === 'delivered' ? n : undefined;
    });
    expect(done.deliveredChannels).toEqual(['email']);
    expect(done.attempts).toEqual([expect.objectContaining({ outcome: 'accepted', sourceIp: engine.ips[0], responseCode: 250 })]);

    const audit = (await (await engine.request('GET', `/v1/notifications/${id}/audit`)).json()) as { events: { at: string; step: string }[] };
    expect(audit.events.map((e) => e.step)).toEqual([
      'notification.accepted',
      'channels.decided',
      'email.rendered',
      'email.accepted',
      'notification.delivered',
    ]);
    const times = audit.events.map((e) => Date.parse(e.at));
    expect([...times].sort((a, b) => a - b)).toEqual(times);
  });
});
