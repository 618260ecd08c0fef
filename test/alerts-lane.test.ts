import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundleWorkflows, startTestEngine, type TestEngine } from './helpers/engine.js';
import { putUser, settled, transactionData } from './helpers/notify.js';
import { waitUntil } from './helpers/wait.js';

// Once tasks reach a worker, its activity slots are first-come. Here tenant A's sends hang at the
// receiver (RCPT held open) and so hold every slot of a worker that has two; tenant B's security
// alert must still reach the receiver meanwhile, through the mandatory-alerts lane and its own slots.

let engine: TestEngine;
let tenantB: { tenantId: string; apiKey: string };
let release!: () => void;
const held = new Promise<void>((resolve) => (release = resolve));
let hanging = 0;

beforeAll(async () => {
  engine = await startTestEngine({
    bundle: await bundleWorkflows(),
    workerTuning: { maxConcurrentActivities: 2 },
    inbox: {
      onRcpt: async ({ rcpt }) => {
        if (!rcpt.startsWith('lane-a@')) return undefined;
        hanging++;
        await held;
        hanging--;
        return undefined;
      },
    },
  });
  tenantB = await engine.addTenant();
  await putUser(engine, 'lane-a', { email: 'lane-a@example.com', locale: 'en' }, { transactions: ['email'] });
  const b = await engine.request('PUT', '/v1/users/lane-b', { key: tenantB.apiKey, body: { email: 'lane-b@example.com', locale: 'en' } });
  expect(b.status, await b.clone().text()).toBeLessThan(300);
}, 120_000);
afterAll(async () => {
  release();
  await engine?.stop();
});

const received = (address: string) => engine.inbox.messages.filter((m) => m.rcptTo.includes(address)).length;

describe('the mandatory-alerts lane', () => {
  it("delivers tenant B's security alert while tenant A's sends hold every slot of the worker", async () => {
    const ids: string[] = [];
    for (let i = 0; i < 4; i++) {
      const res = await engine.request('POST', '/v1/notifications', {
        headers: { 'idempotency-key': `lane-a-${i}` },
        body: { userId: 'lane-a', type: 'account.transaction', data: transactionData },
      });
      expect(res.status).toBe(202);
      ids.push(((await res.json()) as { id: string }).id);
    }
    // Both activity slots of the worker are taken by A's sends, stuck at RCPT.
    await waitUntil(async () => hanging >= 2, 60_000, "two of A's sends hanging at the receiver");

    const alert = await engine.request('POST', '/v1/notifications', {
      key: tenantB.apiKey,
      headers: { 'idempotency-key': 'lane-b-alert' },
      body: { userId: 'lane-b', type: 'security.new_device', data: { device: 'Pixel 9', city: 'Lyon', at: '2025-01-01T10:00:00Z' } },
    });
    expect(alert.status, await alert.clone().text()).toBe(202);
    await waitUntil(async () => received('lane-b@example.com') > 0, 30_000, "tenant B's alert at the SMTP receiver");
    // A's sends were still held: B did not wait for a slot of theirs to free up.
    expect(received('lane-a@example.com')).toBe(0);
    expect(hanging).toBeGreaterThanOrEqual(2);

    // Released, A's notifications go out too: the lane took nothing from them.
    release();
    for (const id of ids) expect((await settled(engine, id, 120_000)).status).toBe('delivered');
    expect(received('lane-a@example.com')).toBe(4);
  }, 240_000);
});
