// A complaint or an unsubscribe is a user declining service and marketing mail, not their bank's
// security alerts; a hard bounce (the address does not exist) stops everything. A required alert
// that reaches no channel is an event the tenant hears about, with the reason.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundleWorkflows, startTestEngine, type TestEngine } from './helpers/engine.js';
import { startHttpReceiver } from './helpers/http-receiver.js';
import { getNotification, putUser, settled, trigger } from './helpers/notify.js';
import { waitUntil } from './helpers/wait.js';

const newDevice = { device: 'Pixel 9', city: 'Lyon', at: '2026-06-01T10:00:00Z' };
let engine: TestEngine;
let hook: Awaited<ReturnType<typeof startHttpReceiver>>;

beforeAll(async () => {
  engine = await startTestEngine({ bundle: await bundleWorkflows(), ips: ['127.0.0.35'] });
  hook = await startHttpReceiver();
  expect((await engine.request('PUT', '/v1/webhook', { body: { url: `${hook.url}/events` } })).status).toBe(200);
});
afterAll(async () => {
  await hook?.close();
  await engine?.stop();
});

const suppress = async (email: string, reason: string) =>
  expect((await engine.request('POST', '/v1/suppressions', { body: { email, reason } })).status).toBeLessThan(300);
const mailTo = (address: string) => engine.inbox.messages.filter((m) => m.rcptTo.includes(address));

describe('suppression scope', () => {
  it.each(['complaint', 'unsubscribe'])('a %s stops service mail but a required security alert still goes out by e-mail', async (reason) => {
    const user = `erin-${reason}`;
    const email = `${user}@example.fr`;
    await putUser(engine, user, { email }, { transactions: ['email'], security: ['email'] });
    await suppress(email, reason);

    const service = await settled(engine, await trigger(engine, user, `${user}-tx`));
    expect(service.status).toBe('suppressed');
    const alert = await settled(engine, await trigger(engine, user, `${user}-sec`, 'security.new_device', newDevice));
    expect(alert).toMatchObject({ status: 'delivered', deliveredChannels: ['email'] });
    expect(mailTo(email)).toHaveLength(1);
  });

  it('a hard bounce stops every category; a required alert with no usable channel is reported undeliverable, with why', async () => {
    const email = 'hal@example.fr';
    await putUser(engine, 'hal', { email }, { security: ['email'] });
    await suppress(email, 'hard_bounce');
    const id = await trigger(engine, 'hal', 'hal-sec', 'security.new_device', newDevice);
    const done = await settled(engine, id);
    expect(done.status).toBe('suppressed');
    expect(mailTo(email)).toHaveLength(0);
    expect((await getNotification(engine, id)).error).toMatch(/suppressed \(hard_bounce\)/);

    const event = await waitUntil(async () => hook.requests.find((r) => r.body.includes(id)), 30_000, 'undeliverable webhook');
    expect(JSON.parse(event.body)).toMatchObject({
      type: 'notification.undeliverable',
      event: 'undeliverable',
      notificationId: id,
      reason: expect.stringMatching(/hard_bounce/),
    });
    expect(event.body).not.toContain(email);
  });
});
