import { expect } from 'vitest';
import type { TestEngine } from './engine.js';
import { waitUntil } from './wait.js';

export interface NotificationBody {
  status: string;
  channels: string[];
  deliveredChannels: string[];
  error: string | null;
  workflowId: string;
  templateVersion: number | null;
  attempts: { channel: string; attempt: number; outcome: string; sourceIp: string | null; responseCode: number | null; target: string | null }[];
}

export const transactionData = { amount: 12.3, currency: 'EUR', merchant: 'Café Central', accountLast4: '9876' };

/** PUT a user (and optional preferences) through the API, as the app would. */
export async function putUser(engine: TestEngine, userId: string, profile: Record<string, unknown>, categories?: Record<string, string[]>) {
  const res = await engine.request('PUT', `/v1/users/${userId}`, { body: profile });
  expect(res.status, await res.clone().text()).toBeLessThan(300);
  if (categories) {
    const prefs = await engine.request('PUT', `/v1/users/${userId}/preferences`, { body: { categories } });
    expect(prefs.status, await prefs.clone().text()).toBe(200);
  }
}

/** POST a notification and return its id. */
export async function trigger(
  engine: TestEngine,
  userId: string,
  key: string,
  type = 'account.transaction',
  data: Record<string, unknown> = transactionData,
) {
  const res = await engine.request('POST', '/v1/notifications', { headers: { 'idempotency-key': key }, body: { userId, type, data } });
  expect(res.status, await res.clone().text()).toBe(202);
  return ((await res.json()) as { id: string }).id;
}

export async function getNotification(engine: TestEngine, id: string): Promise<NotificationBody> {
  const res = await engine.request('GET', `/v1/notifications/${id}`);
  expect(res.status).toBe(200);
  return (await res.json()) as NotificationBody;
}

/** Waits for the notification to reach a final status and returns it. */
export function settled(engine: TestEngine, id: string, timeoutMs = 60_000): Promise<NotificationBody> {
  return waitUntil(
    async () => {
      const n = await getNotification(engine, id);
      return ['delivered', 'failed', 'cancelled', 'skipped', 'suppressed'].includes(n.status) ? n : undefined;
    },
    timeoutMs,
    `notification ${id} to settle`,
  );
}

export async function auditSteps(engine: TestEngine, id: string): Promise<string[]> {
  const res = await engine.request('GET', `/v1/notifications/${id}/audit`);
  return ((await res.json()) as { events: { step: string }[] }).events.map((e) => e.step);
}
