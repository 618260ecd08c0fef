import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundleWorkflows, startTestEngine, type TestEngine } from './helpers/engine.js';
import { putUser, transactionData } from './helpers/notify.js';
import { waitUntil } from './helpers/wait.js';

// A fair share per tenant in the worker: tenant A's burst queues in Temporal (a worker with two
// activity slots), and tenant B's security alert, triggered after it, still reaches the SMTP
// receiver while most of A's burst is undelivered. An ordering assertion, not a timing one.

const BURST = 400;
let engine: TestEngine;
let tenantB: { tenantId: string; apiKey: string };

beforeAll(async () => {
  engine = await startTestEngine({ bundle: await bundleWorkflows(), workerTuning: { maxConcurrentActivities: 2 } });
  tenantB = await engine.addTenant();
  await putUser(engine, 'fair-a', { email: 'fair-a@example.com', locale: 'en' });
  const b = await engine.request('PUT', '/v1/users/fair-b', { key: tenantB.apiKey, body: { email: 'fair-b@example.com', locale: 'en' } });
  expect(b.status, await b.clone().text()).toBeLessThan(300);
}, 120_000);
afterAll(async () => engine?.stop());

const received = (address: string) => engine.inbox.messages.filter((m) => m.rcptTo.includes(address)).length;

describe('worker fairness between tenants', () => {
  it("tenant B's security alert overtakes tenant A's backlog of transactions", async () => {
    for (let from = 0; from < BURST; from += 200) {
      const items = Array.from({ length: 200 }, (_, i) => ({
        idempotencyKey: `fair-a-${from + i}`,
        userId: 'fair-a',
        type: 'account.transaction',
        data: transactionData,
      }));
      const res = await engine.request('POST', '/v1/notifications/batch', { body: { notifications: items } });
      expect(res.status).toBe(202);
      expect(((await res.json()) as { accepted: number }).accepted).toBe(200);
    }

    const alert = await engine.request('POST', '/v1/notifications', {
      key: tenantB.apiKey,
      headers: { 'idempotency-key': 'fair-b-alert' },
      body: { userId: 'fair-b', type: 'security.new_device', data: { device: 'Pixel 9', city: 'Lyon', at: '2025-01-01T10:00:00Z' } },
    });
    expect(alert.status, await alert.clone().text()).toBe(202);

    await waitUntil(async () => received('fair-b@example.com') > 0, 240_000, "tenant B's alert at the SMTP receiver");
    const deliveredA = received('fair-a@example.com');
    // FIFO would deliver all of A first; with priority and fairness B's alert comes well before.
    expect(BURST - deliveredA, `${deliveredA} of A's ${BURST} delivered before B's alert`).toBeGreaterThan(BURST / 2);
    console.info(`fairness: ${deliveredA} of A's ${BURST} delivered before B's alert`);
  }, 300_000);
});
